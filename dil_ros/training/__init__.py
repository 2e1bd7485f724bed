"""Training: config, episode split, batches, objectives, EMA, checkpoints, logging and the loop.

``train(TrainRequest(...))`` (trainer.py) checks the dataset against the contract and trains a
diffusion policy or the MSE baseline on it (loop.py); ``restore.load_run(run_dir)`` rebuilds the
trained policy and its export metadata.
"""
