"""Run logging: TensorBoard scalars under RUN_DIR/tb, loss histories, a loss plot at the end."""
from pathlib import Path
from typing import List, Optional, Tuple


class RunLogger:
    """Writes only on the main rank; other ranks get a logger that does nothing."""

    def __init__(self, run_dir: Path, enabled: bool, history: Optional[List] = None,
                 val_history: Optional[List] = None):
        self.run_dir = Path(run_dir)
        self.enabled = enabled
        self.history: List[Tuple[int, float, float]] = [tuple(h) for h in (history or [])]
        self.val_history: List[Tuple[int, float]] = [tuple(h) for h in (val_history or [])]
        self.writer = None
        if enabled:
            from torch.utils.tensorboard import SummaryWriter
            self.writer = SummaryWriter(str(self.run_dir / 'tb'))

    def scalars(self, step: int, loss: float, lr: float) -> None:
        self.history.append((step, loss, lr))
        if self.writer is not None:
            self.writer.add_scalar('train/loss', loss, step)
            self.writer.add_scalar('train/lr', lr, step)

    def val_scalar(self, step: int, loss: float) -> None:
        self.val_history.append((step, loss))
        if self.writer is not None:
            self.writer.add_scalar('val/loss', loss, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.flush()
            self.writer.close()

    def plot(self, path: Path, title: str = '') -> Optional[Path]:
        """Training and validation loss (log scale) and learning rate over steps as a PNG."""
        if not self.enabled or not (self.history or self.val_history):
            return None
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(6, 5), sharex=True)
        if self.history:
            steps, losses, lrs = zip(*self.history)
            ax1.plot(steps, losses, label='train')
            ax2.plot(steps, lrs, color='tab:orange')
        if self.val_history:
            vsteps, vlosses = zip(*self.val_history)
            ax1.plot(vsteps, vlosses, 'o-', color='tab:green', label='validation')
            ax1.legend(fontsize=8)
        ax1.set_yscale('log')
        ax1.set_ylabel('loss')
        ax1.set_title(title, fontsize=9)
        ax2.set_ylabel('lr')
        ax2.set_xlabel('step')
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return Path(path)
