"""Fixtures for training tests: a small bimodal dataset and a tiny, fast run config."""
import pytest


@pytest.fixture(scope='session', autouse=True)
def one_thread(one_torch_thread):
    """Every test here runs on one torch thread (see test/conftest.py)."""


@pytest.fixture(scope='session')
def bimodal_dataset(tmp_path_factory):
    from dil_ros.data.lerobot import write_dataset
    from dil_ros.sim import bimodal
    root = tmp_path_factory.mktemp('data') / 'bimodal'
    write_dataset(root, bimodal.make_demonstrations(12, seed=3), fps=bimodal.RATE_HZ)
    return root


@pytest.fixture(scope='session')
def contract_2d():
    from dil_ros.sim.bimodal import bimodal_contract
    return bimodal_contract()


def _tiny_mapping(optim=None, **train):
    return {
        'train': {'steps': 6, 'batch_size': 16, 'seed': 0, 'checkpoint_every': 3, 'log_every': 2,
                  **train},
        'optim': {'lr': 1.0e-3, 'warmup_steps': 2, **(optim or {})},
        'policy': {'down_dims': [16, 32], 'diffusion_step_embed_dim': 16, 'kernel_size': 3,
                   'num_inference_steps': 4},
        'regression': {'hidden_dims': [32]},
    }


@pytest.fixture
def train_request():
    """``train_request(dataset, run_dir, contract, kind, steps, resume, optim={...}, **train)``:
    a tiny run."""
    from dil_ros.training.config import run_config_from_mapping
    from dil_ros.training.trainer import TrainRequest

    def make(dataset, run_dir, contract, kind='diffusion', steps=6, resume=False, stop_at=None,
             optim=None, **train_cfg):
        config = run_config_from_mapping(_tiny_mapping(optim, **train_cfg), '<tiny>')
        return TrainRequest(dataset=dataset, run_dir=run_dir,
                            config=None if resume else config,
                            contract=None if resume else contract, kind=kind, steps=steps,
                            resume=resume, stop_at=stop_at, progress=False)
    return make
