"""Training: config, batches, objectives, EMA, checkpoints, logging and the loop (trainer.py).

``train(TrainRequest(...))`` trains a diffusion policy or the MSE baseline on a LeRobot dataset;
``restore.load_run(run_dir)`` rebuilds the trained policy and its export metadata.
"""
