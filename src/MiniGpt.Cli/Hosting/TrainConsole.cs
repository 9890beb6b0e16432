using MiniGpt.Config;
using MiniGpt.Data;
using MiniGpt.Training;

namespace MiniGpt.Cli.Hosting;

/// <summary>
/// Training progress on the console: on a terminal a status line rewritten in place, when redirected one
/// plain line per log interval. Evaluations and checkpoints always get their own line. Disposed, it ends a status
/// line left open (training that failed), so that the error starts a line of its own.
/// </summary>
public sealed class TrainConsole(TrainConfig config, TextWriter output, bool live) : IProgress<TrainProgress>, IDisposable
{
    public TrainConsole(TrainConfig config) : this(config, Console.Out, live: !Console.IsOutputRedirected) { }

    bool statusShown;

    bool preparing;

    /// <summary>Says once that a token cache is being prepared, since that pass happens before training starts.</summary>
    public IProgress<PrepareProgress> PrepareProgress => new SyncProgress<PrepareProgress>(p =>
    {
        if (preparing) return;
        preparing = true;
        output.WriteLine($"preparing the token cache {config.DataDir} from {config.Corpus} ({Choices.Name(config.Tokenizer)})");
    });

    sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    public void Start(Trainer t)
    {
        var c = t.Config;   // with pretrained weights, the model's architecture
        if (c.Device == DeviceKind.Auto && t.Device.type != TorchSharp.DeviceType.CUDA)
            Console.Error.WriteLine("warning: device = auto found no CUDA device (or no CUDA libtorch); training on the CPU");
        output.WriteLine($"minigpt train: {t.Model.ParameterCount / 1e6:F2}M parameters, {c.NLayer} layers × {c.NHead} heads × {c.NEmbd}, " +
                          $"block {c.BlockSize}, batch {c.BatchSize}×{c.GradientAccumulationSteps}, {t.Device.type.ToString().ToLowerInvariant()} {Choices.Name(c.Dtype)}");
        output.WriteLine($"data {c.DataDir} → out {c.OutDir}" + (t.Iter > 0 ? $" (resumed at step {t.Iter})" : "")
                          + (InitFrom.IsPretrained(c.InitFrom) ? $", weights from {c.InitFrom}" : ""));
    }

    public void Report(TrainProgress p)
    {
        switch (p)
        {
            case StepDone s:
                var line = $"iter {s.Iter,6}/{s.MaxIters}  loss {s.Loss:F4}  lr {s.Lr:E2}  {s.MsPerIter,7:F1} ms/iter  {s.TokensPerSec,9:N0} tok/s  ETA {Commands.ProgressLine.Duration(s.Eta)}";
                if (live) { output.Write("\r" + line.PadRight(Console.WindowWidth > 0 ? Math.Min(Console.WindowWidth - 1, 110) : 110)); statusShown = true; }
                else output.WriteLine(line);
                break;
            case EvalDone e:
                EndStatus();
                output.WriteLine($"step {e.Iter}: train loss {e.TrainLoss:F4}, val loss {e.ValLoss:F4}");
                break;
            case CheckpointSaved c:
                EndStatus();
                output.WriteLine($"saved {c.Path}");
                break;
        }
    }

    void EndStatus()
    {
        if (statusShown) output.WriteLine();
        statusShown = false;
    }

    public void Dispose() => EndStatus();

    public void Finish(TrainResult r)
    {
        EndStatus();
        output.WriteLine(r.Interrupted
            ? $"interrupted at step {r.FinalIter}; resume with: minigpt train --config <same config> --resume"
            // eval_only trains and saves nothing: its best val loss was the Infinity it starts from.
            : config.EvalOnly && r.Evals.Count > 0 ? $"evaluated at step {r.FinalIter}: train loss {r.Evals[^1].TrainLoss:F4}, val loss {r.Evals[^1].ValLoss:F4}; nothing trained or saved"
            : $"done at step {r.FinalIter}: {(double.IsFinite(r.BestValLoss) ? $"best val loss {r.BestValLoss:F4}" : "no val loss measured")}; checkpoints in {config.OutDir}");
    }
}
