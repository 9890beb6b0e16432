namespace MiniGpt.Training;

/// <summary>What the trainer reports as it goes: one of the records below.</summary>
public abstract record TrainProgress(int Iter);

/// <summary>Every log_interval steps: the last step's loss and ‖g‖, and speed averaged since the last report.</summary>
public sealed record StepDone(int Iter, int MaxIters, double Loss, double Lr, double GradNorm, double MsPerIter,
    double TokensPerSec, double Mfu, TimeSpan Eta) : TrainProgress(Iter);

/// <summary>Every eval_interval steps: the mean loss over eval_iters batches of each split.</summary>
public sealed record EvalDone(int Iter, double TrainLoss, double ValLoss) : TrainProgress(Iter);

/// <summary>A checkpoint was written: best.ckpt after a new best val loss, last.ckpt when interrupted.</summary>
public sealed record CheckpointSaved(int Iter, string Path) : TrainProgress(Iter);
