using System.Diagnostics;
using MiniGpt.Checkpoints;
using MiniGpt.Config;
using MiniGpt.Data;
using MiniGpt.Formats;
using MiniGpt.Hub;
using MiniGpt.Generation;
using MiniGpt.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Training;

public sealed record TrainResult(int FinalIter, double BestValLoss, bool Interrupted, IReadOnlyList<EvalRecord> Evals, IReadOnlyList<float> StepLosses);

/// <summary>The loss or gradient became NaN or Inf; no optimizer step was taken with it.</summary>
public sealed class TrainingDivergedException(int step, string what)
    : MiniGptException($"training diverged at step {step}: {what} is not finite; the last good checkpoint was kept")
{
    public int Step { get; } = step;
}

/// <summary>A run would resume on a token cache made from other text than it was trained on.</summary>
public sealed class OtherDataException(string checkpoint, string dataDir, string trainedOn, string cacheHas)
    : DataException(checkpoint, $"cannot resume from {checkpoint}: it was trained on a corpus with SHA-256 {trainedOn[..Math.Min(12, trainedOn.Length)]}…, " +
                                $"but the token cache {dataDir} was made from one with {cacheHas[..Math.Min(12, cacheHas.Length)]}…");

/// <summary>
/// nanoGPT's train.py as a class: AdamW over a flat buffer, warmup + cosine learning rate, gradient
/// accumulation and clipping, evaluation every eval_interval with `last` and `best` checkpoints, and exact
/// resume from `last`. Runs on the CPU or CUDA, in float32 or bfloat16 mixed precision.
/// </summary>
public sealed class Trainer : IDisposable
{
    /// <summary>The run's config; with pretrained weights, the architecture is the model's.</summary>
    public TrainConfig Config { get; }
    public Gpt Model => trainable.Model;
    public Device Device => trainable.Device;
    public string LastPath => Path.Combine(Config.OutDir, Checkpoint.LastFile);
    public string BestPath => Path.Combine(Config.OutDir, Checkpoint.BestFile);

    readonly RunDirectory run;
    readonly TrainingData data;
    readonly TrainableModel trainable;
    readonly Func<Stream, Stream>? checkpointWrap;
    readonly double flopsPerIter;
    readonly string origin;   // init_from of the run's first start, kept in its checkpoints across resumes
    int iter;
    double bestValLoss = double.PositiveInfinity;
    long tokensSeen;
    double elapsedBefore;   // seconds trained before this process (resume)

    /// <param name="checkpointWrap">Test hook: wraps the checkpoint file stream (to simulate a full disk).</param>
    /// <param name="overwrite">Start over in an out_dir that holds a run, removing its files; without it such a
    /// folder is refused unless the config resumes it.</param>
    /// <param name="acceptOtherData">Resume although the token cache was made from other text than the checkpoint's
    /// (fine-tuning on purpose); without it that is refused.</param>
    /// <param name="hub">Where a pretrained init_from (gpt2, …) is downloaded from and cached.</param>
    public Trainer(TrainConfig config, Func<Stream, Stream>? checkpointWrap = null, IProgress<PrepareProgress>? prepareProgress = null,
        bool overwrite = false, bool acceptOtherData = false, HubOptions? hub = null, IProgress<DownloadProgress>? downloads = null)
    {
        Config = TrainConfig.Schema.Validated(config);   // a config made in code passes the rules a bound one did
        origin = Config.InitFrom;
        this.checkpointWrap = checkpointWrap;
        var device = Devices.Resolve(config.Device);   // fail on a missing GPU before preparing data
        run = RunDirectory.Open(config.OutDir, config.InitFrom == InitFrom.Resume, overwrite, evalOnly: config.EvalOnly);
        HfModelFolder? pretrained = null;
        try
        {
            random.manual_seed(config.Seed);
            if (InitFrom.IsPretrained(Config.InitFrom))
            {
                pretrained = Pretrained.Open(Config.InitFrom, hub, downloads);
                Config = pretrained.Apply(Config);   // the model's architecture, as nanoGPT's from_pretrained
            }
            else if (Config.InitFrom == InitFrom.Resume && Checkpoint.ReadConfig(LastPath) is { } trained && InitFrom.IsPretrained(trained.InitFrom))
            {
                // A fine-tuning run's architecture came from its pretrained model, not from the config, and still does.
                Config = Config.WithArchitectureOf(trained, "block_size");
                origin = trained.InitFrom;
            }
            data = TrainingData.Open(Config, prepareProgress, model: pretrained?.Tokenizer, modelName: Config.InitFrom);
            trainable = new TrainableModel(Config, data.Cache.Meta.VocabSize, device);
            flopsPerIter = FlopsPerToken(Model.ParameterCount, Config) * Config.TokensPerIter;
            if (Config.InitFrom == InitFrom.Resume) Resume(acceptOtherData);
            else if (overwrite) run.StartOver();
            if (pretrained is not null)
            {
                pretrained.LoadInto(Model);
                trainable.ComputeCopy?.Refresh();
            }
        }
        catch
        {
            Dispose();
            throw;
        }
        finally
        {
            pretrained?.Dispose();
        }
    }

    /// <summary>nanoGPT's estimate of training FLOPs per token, forward and backward: 6N + 12·L·H·Q·T.</summary>
    public static double FlopsPerToken(long parameters, TrainConfig c)
        => 6.0 * parameters + 12.0 * c.NLayer * c.NHead * (c.NEmbd / c.NHead) * c.BlockSize;

    public int Iter => iter;

    public TrainResult Run(IProgress<TrainProgress>? progress = null, CancellationToken ct = default)
    {
        var c = Config;
        // eval_only trains and saves nothing, and logs nothing either: its files made a fresh folder a run that only
        // --overwrite could reuse, and in a run they cut the metrics back to its checkpoint's step.
        var log = c.EvalOnly ? null : new RunLog(c.OutDir, iter);
        var evals = new List<EvalRecord>();
        var losses = new List<float>();
        var clock = Stopwatch.StartNew();
        var window = Stopwatch.StartNew();
        int windowStart = iter;
        bool interrupted = false;
        while (true)
        {
            double lr = LearningRateSchedule.At(iter, c);
            if (c.EvalOnly || iter % c.EvalInterval == 0 || iter == c.MaxIters)   // eval_only evaluates where it starts, a resumed step off the interval too
            {
                var record = Evaluate(lr, clock, log, progress);
                evals.Add(record);
                if (c.EvalOnly) break;
                window.Restart();   // keep evaluation out of ms/iter
                windowStart = iter;
            }
            if (iter >= c.MaxIters) break;
            if (ct.IsCancellationRequested)
            {
                trainable.Step.ThrowIfDiverged();
                SaveCheckpoint(LastPath, clock);
                progress?.Report(new CheckpointSaved(iter, LastPath));
                interrupted = true;
                break;
            }
            using (var scope = NewDisposeScope())
            {
                var (loss, norm) = Step(lr);
                iter++;
                tokensSeen += c.TokensPerIter;
                if (iter % c.LogInterval == 0 || iter == c.MaxIters)
                {
                    trainable.Step.ThrowIfDiverged();
                    float lossValue = loss.item<float>(), normValue = norm.item<float>();   // on a GPU, the only host syncs between evaluations
                    double dt = window.Elapsed.TotalSeconds / Math.Max(1, iter - windowStart);
                    window.Restart();
                    windowStart = iter;
                    double tokPerSec = c.TokensPerIter / dt, mfu = flopsPerIter / dt / c.PeakFlops;
                    var eta = TimeSpan.FromSeconds(dt * (c.MaxIters - iter));
                    log!.Scalar("train/loss", lossValue, iter);
                    log!.Scalar("lr", lr, iter);
                    log!.Scalar("grad_norm", normValue, iter);
                    log!.Scalar("tokens_per_sec", tokPerSec, iter);
                    log!.Scalar("mfu", mfu, iter);
                    progress?.Report(new StepDone(iter, c.MaxIters, lossValue, lr, normValue, dt * 1000, tokPerSec, mfu, eta));
                }
                if (Device.type == DeviceType.CPU) losses.Add(loss.item<float>());   // free on the CPU: no queue to stall
            }
        }
        return new TrainResult(iter, bestValLoss, interrupted, evals, losses);
    }

    /// <summary>One optimizer step on the next training batches; returns (mean loss, ‖g‖).</summary>
    public (Tensor Loss, Tensor GradNorm) Step(double lr)
    {
        // TorchSharp can neither read nor restore a CUDA generator, so a checkpoint cannot hold its state.
        // Seeding it from (seed, step) instead gives a resumed GPU run the dropout masks of an uninterrupted one.
        if (Device.type == DeviceType.CUDA) cuda.manual_seed(unchecked(Config.Seed * 1_000_003 + iter));
        return trainable.Step.Run(data.Train.Next, lr, iter);
    }

    EvalRecord Evaluate(double lr, Stopwatch clock, RunLog? log, IProgress<TrainProgress>? progress)
    {
        var c = Config;
        trainable.Step.ThrowIfDiverged();   // never evaluate or checkpoint after a refused step
        double trainLoss = LossEstimator.Estimate(Model, data.EvalBatches(Split.Train, iter), c.EvalIters, Device);
        double valLoss = LossEstimator.Estimate(Model, data.EvalBatches(Split.Val, iter), c.EvalIters, Device);
        // A step whose loss and gradient were finite can still leave weights whose loss is not: the run stops as
        // diverged before that loss reaches the logs or a checkpoint (JSON cannot even hold it).
        if (!double.IsFinite(trainLoss) || !double.IsFinite(valLoss)) throw new TrainingDivergedException(iter, "the evaluation loss");
        double elapsed = elapsedBefore + clock.Elapsed.TotalSeconds;
        var record = new EvalRecord(iter, trainLoss, valLoss, lr, tokensSeen / Math.Max(elapsed, 1e-9), elapsed);
        log?.Eval(record);
        if (c.SampleTokens > 0 && log is not null) log.Text("sample", Sample(c.SampleTokens), iter);
        progress?.Report(new EvalDone(iter, trainLoss, valLoss));
        if (c.EvalOnly) return record;
        if (valLoss < bestValLoss)
        {
            bestValLoss = valLoss;
            if (iter > 0)
            {
                SaveCheckpoint(BestPath, clock);
                progress?.Report(new CheckpointSaved(iter, BestPath));
            }
        }
        SaveCheckpoint(LastPath, clock);
        return record;
    }

    /// <summary>A text sample from a newline (or token 0), with its own generator so training's randomness is untouched.</summary>
    public string Sample(int tokens)
    {
        var tok = data.Cache.Tokenizer;
        using var g = new Generator((ulong)(Config.Seed + iter));
        var ids = new TextGenerator(Model).Generate([TextGenerator.StartToken(tok)], tokens, new SamplingOptions(0.8, TopK: 200), g).ToList();
        return tok.Decode(ids);
    }

    public void SaveCheckpoint(string path, Stopwatch? clock = null)
    {
        // On a GPU the host copies below hold every weight and both moments: free them when the file is written.
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>();
        foreach (var e in trainable.Flat.Entries) tensors["model/" + e.Name] = e.Param.detach().to(float32).cpu();
        var (m, v, optimizerStep) = trainable.Optimizer.State;
        tensors["optim/m"] = m.detach().cpu();
        tensors["optim/v"] = v.detach().cpu();
        using var rng = random.get_rng_state();
        var state = new CheckpointState
        {
            Config = Config with { InitFrom = origin },
            Tokenizer = data.Cache.Meta.Tokenizer,
            VocabSize = data.Cache.Meta.VocabSize,
            Step = iter,
            BestValLoss = bestValLoss,
            OptimizerStep = optimizerStep,
            TokensSeen = tokensSeen,
            ElapsedSeconds = elapsedBefore + (clock?.Elapsed.TotalSeconds ?? 0),
            TorchRngState = rng.bytes.ToArray(),
            TrainSamplerState = data.Train.State,
            CorpusSha256 = data.Cache.Meta.CorpusSha256,
            Tensors = tensors,
        };
        Directory.CreateDirectory(Config.OutDir);
        Checkpoint.Save(path, state, checkpointWrap);
    }

    void Resume(bool acceptOtherData)
    {
        using var scope = NewDisposeScope();   // the loaded tensors and their device copies, whether resuming succeeds or not
        var s = Checkpoint.Load(LastPath);
        var mismatches = TrainConfig.Schema.Differences(s.Config, Config, k => k.Architecture)
            .Select(d => $"{d.Key.Name}: checkpoint has {ConfigProblem.Format(d.A)}, the config asks for {ConfigProblem.Format(d.B)}").ToList();
        var dataTokenizer = data.Cache.Meta.Tokenizer;
        if (s.VocabSize != data.Cache.Meta.VocabSize || s.Tokenizer.Kind != dataTokenizer.Kind)
            mismatches.Add($"tokenizer: checkpoint has {Choices.Name(s.Tokenizer.Kind)} with {s.VocabSize} ids, the data has {Choices.Name(dataTokenizer.Kind)} with {data.Cache.Meta.VocabSize}");
        else if (!s.Tokenizer.SameTokenizer(dataTokenizer))
            mismatches.Add("tokenizer: the checkpoint's vocabulary differs from the data's");
        if (s.CorpusSha256 is { } trainedOn && trainedOn != data.Cache.Meta.CorpusSha256 && !acceptOtherData)
            throw new OtherDataException(LastPath, data.Cache.Dir, trainedOn, data.Cache.Meta.CorpusSha256);
        if (mismatches.Count > 0)
            throw new DataException(LastPath, $"cannot resume from {LastPath}: " + string.Join("; ", mismatches));
        Checkpoint.CopyWeightsInto(s, Model, LastPath);
        trainable.ComputeCopy?.Refresh();
        trainable.Optimizer.LoadState(s.Tensors["optim/m"].to(Device), s.Tensors["optim/v"].to(Device), s.OptimizerStep);
        using (var rng = tensor(s.TorchRngState, ScalarType.Byte)) random.set_rng_state(rng);
        data.Train.State = s.TrainSamplerState;
        iter = s.Step;
        bestValLoss = s.BestValLoss;
        tokensSeen = s.TokensSeen;
        elapsedBefore = s.ElapsedSeconds;
    }

    public void Dispose()
    {
        trainable?.Dispose();
        data?.Dispose();
        run.Dispose();
    }
}
