using MiniGpt.Checkpoints;
using MiniGpt.Config;
using MiniGpt.Model;
using MiniGpt.Tests.TestSupport;
using MiniGpt.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MiniGpt.Tests.Training;

public class TrainerTests
{
    static TrainResult Train(TrainConfig c, Func<Stream, Stream>? wrap = null)
    {
        using var t = new Trainer(c, wrap);
        return t.Run();
    }

    [Fact]
    public void SameSeed_SameLosses_DifferentSeed_DifferentLosses()
    {
        using var dir = new TempDir();
        var a = Train(TinyRun.Config(dir, "a"));
        var b = Train(TinyRun.Config(dir, "b"));
        var c = Train(TinyRun.Config(dir, "c") with { Seed = 8 });
        Assert.Equal(20, a.StepLosses.Count);
        Assert.Equal(a.StepLosses, b.StepLosses);
        Assert.NotEqual(a.StepLosses, c.StepLosses);
        Assert.True(a.StepLosses[^1] < a.StepLosses[0] - 0.3, $"loss should fall: {a.StepLosses[0]} → {a.StepLosses[^1]}");
    }

    [Theory]
    [InlineData(0.0, Precision.Float32)]
    [InlineData(0.2, Precision.Float32)]    // dropout draws from torch's generator, whose state the checkpoint carries
    [InlineData(0.0, Precision.BFloat16)]   // the bf16 weight copy is refreshed from the loaded weights
    public void Resume_IsBitExact(double dropout, Precision dtype)
    {
        using var dir = new TempDir();
        var whole = Train(TinyRun.Config(dir, "whole") with { Dropout = dropout, Dtype = dtype, MaxIters = 20, EvalInterval = 7 });
        var first = Train(TinyRun.Config(dir, "split") with { Dropout = dropout, Dtype = dtype, MaxIters = 10, EvalInterval = 7 });
        // Everything from the first half is disposed; the second half starts from last.ckpt in new objects.
        var second = Train(TinyRun.Config(dir, "split") with { Dropout = dropout, Dtype = dtype, MaxIters = 20, EvalInterval = 7, InitFrom = InitFrom.Resume });
        Assert.Equal(whole.StepLosses, first.StepLosses.Concat(second.StepLosses));
        Assert.Equal(whole.Evals.Last().ValLoss, second.Evals.Last().ValLoss);
    }

    [Fact]
    public void Resume_WithAnotherArchitecture_NamesTheMismatch()
    {
        using var dir = new TempDir();
        Train(TinyRun.Config(dir));
        var c = TinyRun.Config(dir) with { NEmbd = 32, NHead = 4, PositionEncoding = PositionEncoding.Rotary, InitFrom = InitFrom.Resume };
        var ex = Assert.Throws<DataException>(() => new Trainer(c));
        var last = Path.Combine(c.OutDir, "last.ckpt");
        Assert.Equal(last, ex.Path);
        Assert.Equal($"cannot resume from {last}: n_head: checkpoint has 2, the config asks for 4; n_embd: checkpoint has 16, the config asks for 32; " +
                     "position_encoding: checkpoint has learned, the config asks for rotary", ex.Message);
    }

    [Fact]
    public void Resume_FromACorruptCheckpoint_FailsNamingIt_InsteadOfStartingOver()
    {
        using var dir = new TempDir();
        var c = TinyRun.Config(dir);
        Train(c);
        var last = Path.Combine(c.OutDir, "last.ckpt");
        var bytes = File.ReadAllBytes(last);
        bytes[bytes.Length / 2] ^= 1;
        File.WriteAllBytes(last, bytes);
        var ex = Assert.Throws<DataException>(() => new Trainer(c with { InitFrom = InitFrom.Resume }));
        Assert.Contains(last, ex.Message);
    }

    [Fact]
    public void NaN_StopsBeforeTheOptimizerStep_AndKeepsTheLastCheckpoint()
    {
        using var dir = new TempDir();
        var c = TinyRun.Config(dir);
        using var t = new Trainer(c);
        t.Run();                                                    // 20 steps, last.ckpt at step 20
        var last = Path.Combine(c.OutDir, "last.ckpt");
        var saved = File.ReadAllBytes(last);
        var p = t.Model.UniqueParameters().First(p => p.Name.Contains("ln_f")).Param;
        using (no_grad()) p[0] = float.NaN;
        var others = t.Model.UniqueParameters().Where(q => q.Param.Handle != p.Handle).Select(q => q.Param.clone()).ToList();
        var ex = Assert.Throws<TrainingDivergedException>(() => t.Step(1e-3));
        Assert.Equal(20, ex.Step);
        Assert.Contains("step 20", ex.Message);
        foreach (var (before, (_, now)) in others.Zip(t.Model.UniqueParameters().Where(q => q.Param.Handle != p.Handle)))
            Assert.True(before.equal(now).all().item<bool>(), "a weight moved although the step was refused");
        Assert.Equal(saved, File.ReadAllBytes(last));
    }

    [Fact]
    public void AnEvaluationLossThatIsNotFinite_StopsTheRunAsDiverged_BeforeItIsLoggedOrSaved()
    {
        // A step can be finite and leave weights whose loss is not (learning_rate 10, or an epsilon that float32
        // rounds to 0): the JSON of metrics.jsonl could not hold it, and the run ended in an internal error.
        using var dir = new TempDir();
        var c = TinyRun.Config(dir);
        using var t = new Trainer(c);
        using (no_grad()) t.Model.UniqueParameters().First(p => p.Name.Contains("ln_f")).Param.fill_(float.PositiveInfinity);
        var ex = Assert.Throws<TrainingDivergedException>(() => t.Run());
        Assert.Equal("training diverged at step 0: the evaluation loss is not finite; the last good checkpoint was kept", ex.Message);
        Assert.Empty(RunLog.ReadMetrics(c.OutDir));
        Assert.False(File.Exists(Path.Combine(c.OutDir, "last.ckpt")));
    }

    [Fact]
    public void EvalOnly_EvaluatesWhereItStarts_EvenInAFolderWithARun_AndWritesNothing()
    {
        // Resumed at step 15 of an interval of 10, it trained on, and met a log it had not opened; beside a run it was
        // refused, and --overwrite with it too.
        using var dir = new TempDir();
        var c = TinyRun.Config(dir) with { MaxIters = 15 };
        Train(c);
        var before = Directory.GetFiles(c.OutDir).ToDictionary(f => f, File.ReadAllBytes);
        TrainResult resumed, fresh;
        using (var t = new Trainer(c with { InitFrom = InitFrom.Resume, EvalOnly = true, MaxIters = 20 })) resumed = t.Run();
        using (var t = new Trainer(c with { EvalOnly = true })) fresh = t.Run();
        Assert.Equal((15, 0), (Assert.Single(resumed.Evals).Step, Assert.Single(fresh.Evals).Step));
        Assert.Equal(before.Keys.Order(), Directory.GetFiles(c.OutDir).Order());
        foreach (var (f, bytes) in before) Assert.Equal(bytes, File.ReadAllBytes(f));
    }

    [Fact]
    public void FailedCheckpointWrite_KeepsThePreviousOne_AndSurfaces()
    {
        using var dir = new TempDir();
        var c = TinyRun.Config(dir) with { MaxIters = 10 };
        Train(c);
        var last = Path.Combine(c.OutDir, "last.ckpt");
        Assert.Equal(10, Checkpoint.Load(last).Step);
        Assert.Throws<IOException>(() => Train(c with { MaxIters = 20, InitFrom = InitFrom.Resume }, s => new FailingStream(s, failAfter: 1000)));
        Assert.Equal(10, Checkpoint.Load(last).Step);
    }

    [Fact]
    public void Run_WritesCheckpointsMetricsAndTensorBoardEvents()
    {
        using var dir = new TempDir();
        var c = TinyRun.Config(dir);
        var r = Train(c);
        Assert.Equal([0, 10, 20], r.Evals.Select(e => e.Step));
        Assert.Equal(r.Evals.Select(e => e.Step), RunLog.ReadMetrics(c.OutDir).Select(e => e.Step));
        Assert.True(File.Exists(Path.Combine(c.OutDir, "last.ckpt")));
        var best = Checkpoint.Load(Path.Combine(c.OutDir, "best.ckpt"));
        Assert.Equal(r.Evals.Where(e => e.Step > 0).MinBy(e => e.ValLoss)!.Step, best.Step);
        Assert.Equal(r.BestValLoss, best.BestValLoss);
        Assert.NotEmpty(Directory.GetFiles(c.OutDir, "events.out.tfevents.*"));
    }

    [Fact]
    public void GradientAccumulation_OfTwoHalfBatches_EqualsOneFullBatchStep()
    {
        // With the same examples, mean over 2 micro-batches of 2 = mean over one batch of 4 (no dropout).
        using var dir = new TempDir();
        var c = TinyRun.Config(dir) with { MaxIters = 1 };
        using var full = new Trainer(c with { OutDir = Path.Combine(dir.Path, "full") });
        using var accum = new Trainer(c with { OutDir = Path.Combine(dir.Path, "accum"), BatchSize = 2, GradientAccumulationSteps = 2 });
        // Both draw offsets from the same seed: 4 offsets for one batch of 4, or 2 + 2 for two batches of 2.
        var (lf, nf) = full.Step(1e-3);
        var (la, na) = accum.Step(1e-3);
        Assert.Equal(lf.item<float>(), la.item<float>(), 5);
        Assert.Equal(nf.item<float>(), na.item<float>(), 4);
    }

    [Fact]
    public void MemoryStaysFlat_NoTensorsLeakPerStep()
    {
        using var dir = new TempDir();
        using var t = new Trainer(TinyRun.Config(dir) with { MaxIters = 200, EvalInterval = 1000 });
        var stats = DisposeScopeManager.Statistics;
        for (int i = 0; i < 10; i++) using (NewDisposeScope()) t.Step(1e-3);
        long live = stats.ThreadTotalLiveCount;
        for (int i = 0; i < 100; i++) using (NewDisposeScope()) t.Step(1e-3);
        Assert.Equal(live, stats.ThreadTotalLiveCount);
    }

    [Fact]
    public void AModelTheHostCannotHold_IsRefusedBeforeItIsBuilt()
    {
        // Every key is within its range, but 1000 blocks of width 60000 are 43 trillion weights.
        using var dir = new TempDir();
        var ex = Assert.Throws<ConfigException>(() => new Trainer(TinyRun.Config(dir) with { NEmbd = 60_000, NHead = 1, NLayer = 1000 }));
        Assert.StartsWith("the model has 43,200,", Assert.Single(ex.Problems).ToString());
        Assert.Contains("GB in host memory (16 bytes each)", ex.Message);
    }

    [Fact]
    public void Checkpoints_FreeTheCopiesTheyMake()
    {
        // On a GPU each save copies every weight and both AdamW moments to the host (130 MB for the GPU recipe):
        // those copies must go when the save is done, not when a finalizer runs.
        using var dir = new TempDir();
        using var t = new Trainer(TinyRun.Config(dir) with { MaxIters = 2 });
        t.Run();
        var stats = DisposeScopeManager.Statistics;
        t.SaveCheckpoint(Path.Combine(dir.Path, "a.ckpt"));
        long live = stats.ThreadTotalLiveCount;
        for (int i = 0; i < 5; i++) t.SaveCheckpoint(Path.Combine(dir.Path, "a.ckpt"));
        Assert.Equal(live, stats.ThreadTotalLiveCount);
    }

    [Fact]
    public void Resume_FreesWhatItLoaded()
    {
        // Building a trainer leaves some tensors for the finalizers (module internals); resuming must add none to them.
        using var dir = new TempDir();
        var c = TinyRun.Config(dir) with { MaxIters = 2 };
        using (var t = new Trainer(c)) t.Run();
        var stats = DisposeScopeManager.Statistics;
        long Leak(TrainConfig config)
        {
            long before = stats.ThreadTotalLiveCount;
            using (new Trainer(config, overwrite: config.InitFrom == InitFrom.Scratch)) { }
            return stats.ThreadTotalLiveCount - before;
        }
        Leak(c with { InitFrom = InitFrom.Resume });
        Assert.Equal(Leak(c with { OutDir = Path.Combine(dir.Path, "other") }), Leak(c with { InitFrom = InitFrom.Resume }));
    }
}
