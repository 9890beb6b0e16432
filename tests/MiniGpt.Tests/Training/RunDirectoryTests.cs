using MiniGpt.Checkpoints;
using MiniGpt.Config;
using MiniGpt.Tests.TestSupport;
using MiniGpt.Training;

namespace MiniGpt.Tests.Training;

public class RunDirectoryTests
{
    [Fact]
    public void ASecondTrainer_OnTheSameOutDir_IsRefused_UntilTheFirstIsDone()
    {
        using var dir = new TempDir();
        var c = TinyRun.Config(dir) with { MaxIters = 2 };
        using (var first = new Trainer(c))
        {
            var ex = Assert.Throws<RunInUseException>(() => new Trainer(c with { InitFrom = InitFrom.Resume }));
            Assert.Equal($"{c.OutDir} is in use by another training run", ex.Message);
            first.Run();
        }
        using var next = new Trainer(c with { InitFrom = InitFrom.Resume, MaxIters = 4 });   // released on dispose
        Assert.Equal(2, next.Iter);
    }

    [Fact]
    public void AFreshStart_OnAFolderThatHoldsARun_IsRefused_AndLeavesItAlone()
    {
        using var dir = new TempDir();
        var c = TinyRun.Config(dir) with { MaxIters = 10 };
        using (var t = new Trainer(c)) t.Run();
        var last = File.ReadAllBytes(Path.Combine(c.OutDir, Checkpoint.LastFile));
        var ex = Assert.Throws<RunExistsException>(() => new Trainer(c with { NEmbd = 32 }));
        Assert.StartsWith($"{c.OutDir} already holds a run (last.ckpt, best.ckpt, metrics.jsonl, events.out.tfevents.", ex.Message);
        Assert.Equal(last, File.ReadAllBytes(Path.Combine(c.OutDir, Checkpoint.LastFile)));
    }

    [Fact]
    public void Overwrite_StartsOver_WithNoFileOfTheOldRunLeft()
    {
        using var dir = new TempDir();
        var c = TinyRun.Config(dir) with { MaxIters = 10 };
        using (var t = new Trainer(c)) t.Run();
        var oldEvents = Directory.GetFiles(c.OutDir, "events.out.tfevents.*");
        using (var t = new Trainer(c with { MaxIters = 3, EvalInterval = 3 }, overwrite: true)) t.Run();
        Assert.Equal([0, 3], RunLog.ReadMetrics(c.OutDir).Select(r => r.Step));
        Assert.Equal(3, Checkpoint.Load(Path.Combine(c.OutDir, Checkpoint.LastFile)).Step);
        Assert.All(oldEvents, f => Assert.False(File.Exists(f), f));
    }

    [Fact]
    public void Overwrite_ThatFailsToStart_LosesNothing()
    {
        using var dir = new TempDir();
        var c = TinyRun.Config(dir) with { MaxIters = 10 };
        using (var t = new Trainer(c)) t.Run();
        var files = RunDirectory.RunFiles(c.OutDir).ToDictionary(f => f, File.ReadAllBytes);
        Assert.Throws<ConfigException>(() => new Trainer(c with { NEmbd = 60_000, NHead = 1, NLayer = 1000 }, overwrite: true));   // too big to hold
        Assert.Equal(files.Keys.Order(), RunDirectory.RunFiles(c.OutDir).Order());
        Assert.All(files, f => Assert.Equal(f.Value, File.ReadAllBytes(f.Key)));
    }

    [Fact]
    public void AnEventsFileOfAStartThatFailed_IsNoRun()
    {
        // A first batch too big for memory failed after the events file was made; the next start asked for --overwrite.
        using var dir = new TempDir();
        var c = TinyRun.Config(dir) with { MaxIters = 2 };
        new RunLog(c.OutDir, 0);   // what a start makes before its first step
        var header = Assert.Single(MiniGpt.Logs.EventLog.EventFiles(c.OutDir));
        Assert.Single(MiniGpt.Logs.TfRecordReader.Read(header).Records);
        Assert.Empty(RunDirectory.RunFiles(c.OutDir));
        var headerBytes = File.ReadAllBytes(header);
        File.WriteAllBytes(header, [.. headerBytes, 1, 2, 3, 4, 5]);   // part of a record more: maybe a run's, so counted
        Assert.Equal([header], RunDirectory.RunFiles(c.OutDir));
        File.WriteAllBytes(header, headerBytes);
        using (var t = new Trainer(c)) t.Run();
        Assert.Contains(RunDirectory.RunFiles(c.OutDir), f => f.Contains("events.out.tfevents.") && f != header);
        using (new Trainer(c with { MaxIters = 3 }, overwrite: true)) Assert.False(File.Exists(header), "an overwrite removes it too");
    }

    [Fact]
    public void Resume_OfARunWhoseMetricsHoldADamagedLine_NamesTheLine_AndWritesNothing()
    {
        using var dir = new TempDir();
        var c = TinyRun.Config(dir) with { MaxIters = 10, EvalInterval = 5 };
        using (var t = new Trainer(c)) t.Run();
        var metrics = Path.Combine(c.OutDir, RunLog.MetricsFile);
        var lines = File.ReadAllLines(metrics);
        File.WriteAllLines(metrics, [lines[0], "{\"step\": \"five\"}", .. lines[2..]]);
        var before = Directory.GetFiles(c.OutDir).ToDictionary(f => f, File.ReadAllBytes);
        using var resumed = new Trainer(c with { MaxIters = 20, InitFrom = InitFrom.Resume });
        var ex = Assert.Throws<DataException>(() => resumed.Run());
        Assert.StartsWith($"{metrics}: line 2 is not a metrics record (", ex.Message);   // was an internal error, the file unnamed
        Assert.Equal(before.Keys.Order(), Directory.GetFiles(c.OutDir).Order());
    }

    [Fact]
    public void AMetricsRecordMissingAField_IsDamage_NotAZero()
    {
        // {"step":5} read as a val loss of 0 at step 5: runs showed it as the run's best.
        using var dir = new TempDir();
        var metrics = dir.File($"run/{RunLog.MetricsFile}", "{\"step\": 0, \"train_loss\": 4.1, \"val_loss\": 4.2, \"lr\": 0.001, \"tokens_per_sec\": 10, \"elapsed_s\": 1}\n{\"step\": 5}\n");
        var ex = Assert.Throws<DataException>(() => RunLog.ReadMetrics(Path.GetDirectoryName(metrics)!));
        Assert.StartsWith($"{metrics}: line 2 is not a metrics record (", ex.Message);
    }

    [Fact]
    public void AMetricsLogOfNoBytes_HoldsNoEvaluations_AndIsNotOpened()
    {
        // /dev/zero, through a link, says 0 bytes and was read until memory ran out by runs; a FIFO's open waited for ever.
        using var dir = new TempDir();
        var c = TinyRun.Config(dir) with { MaxIters = 2, EvalInterval = 1 };
        using (var t = new Trainer(c)) t.Run();
        var metrics = Path.Combine(c.OutDir, RunLog.MetricsFile);
        File.Delete(metrics);
        File.CreateSymbolicLink(metrics, "/dev/zero");
        Assert.Empty(RunLog.ReadMetrics(c.OutDir));
        File.Delete(metrics);
        Fifo.Make(metrics);
        Assert.Empty(Fifo.Within(metrics, () => RunLog.ReadMetrics(c.OutDir)));
    }

    [Fact]
    public void ALockThatCannotBeOpened_IsNotARunInUse()
    {
        // A read-only out_dir was "in use by another training run": every failure to open the lock was taken for one held.
        using var dir = new TempDir();
        var c = TinyRun.Config(dir) with { MaxIters = 2 };
        Directory.CreateDirectory(c.OutDir);
        var lockFile = Path.Combine(c.OutDir, ".run.lock");
        File.CreateSymbolicLink(lockFile, lockFile);   // a loop: opening it fails, as on a read-only disk, with no lock held
        var ex = Assert.Throws<DataException>(() => new Trainer(c));
        Assert.IsNotType<RunInUseException>(ex);
        Assert.StartsWith($"cannot use {c.OutDir} for a run: ", ex.Message);
    }

    [Fact]
    public void AMetricsLogThatIsAPipe_IsMadeAFile_SoThatAResumeAppendsToIt()
    {
        // Read as empty, a FIFO metrics.jsonl still hung train --resume for ever at its first evaluation's append.
        using var dir = new TempDir();
        var outDir = Path.Combine(dir.Path, "run");
        Directory.CreateDirectory(outDir);
        var metrics = Fifo.Make(Path.Combine(outDir, RunLog.MetricsFile));
        Fifo.Within(metrics, () => { new RunLog(outDir, 0).Eval(new EvalRecord(0, 4.2, 4.3, 1e-3, 100, 1)); return 0; });
        Assert.Equal([0], RunLog.ReadMetrics(outDir).Select(r => r.Step));
    }

    [Fact]
    public void AnOutDirThatIsAFile_IsNamed_AndLeftAlone()
    {
        using var dir = new TempDir();
        var file = dir.File("notes.txt", "mine");
        var ex = Assert.Throws<DataException>(() => RunDirectory.Open(file, resume: false, overwrite: false));
        Assert.Equal((file, $"{file} is a file, not a folder for a run"), (ex.Path, ex.Message));   // was .NET's "The file … already exists."
        var prep = Assert.Throws<DataException>(() => MiniGpt.Data.CorpusPreparer.Prepare(new MiniGpt.Data.PrepareOptions(dir.File("c.txt", "some text"), MiniGpt.Data.TokenizerKind.Char, file)));
        Assert.Equal($"{file} is a file, not a folder for a token cache", prep.Message);
        Assert.Equal("mine", File.ReadAllText(file));
    }

    [Fact]
    public void TemporaryCheckpoints_LeftByAKilledWriter_AreRemovedAtTheNextStart()
    {
        using var dir = new TempDir();
        var c = TinyRun.Config(dir) with { MaxIters = 2 };
        using (var t = new Trainer(c)) t.Run();
        var leftovers = new[] { dir.File("run/.last.ckpt.0123abcd.tmp", "half"), dir.File("run/.best.ckpt.4567.tmp", "half") };
        var mine = dir.File("run/notes.tmp", "not ours");
        using (new Trainer(c with { InitFrom = InitFrom.Resume }))
        {
            Assert.All(leftovers, f => Assert.False(File.Exists(f), f));
            Assert.True(File.Exists(mine));
        }
    }

    [Fact]
    public void Resume_KeepsMetricsBeforeItsStep_AndDropsATornLine()
    {
        using var dir = new TempDir();
        var c = TinyRun.Config(dir) with { MaxIters = 10, EvalInterval = 5 };
        using (var t = new Trainer(c)) t.Run();
        var last = Path.Combine(c.OutDir, Checkpoint.LastFile);
        var at10 = File.ReadAllBytes(last);
        using (var t = new Trainer(c with { MaxIters = 20, InitFrom = InitFrom.Resume })) t.Run();
        Assert.Equal([0, 5, 10, 15, 20], RunLog.ReadMetrics(c.OutDir).Select(r => r.Step));
        // As if killed after logging steps 15 and 20 but before their checkpoint landed, mid-way through a line:
        File.WriteAllBytes(last, at10);
        var metrics = Path.Combine(c.OutDir, RunLog.MetricsFile);
        File.AppendAllText(metrics, "{\"step\":25,\"train_lo");
        Assert.Equal([0, 5, 10, 15, 20], RunLog.ReadMetrics(c.OutDir).Select(r => r.Step));   // readable as it is
        using (var t = new Trainer(c with { MaxIters = 20, InitFrom = InitFrom.Resume })) t.Run();
        Assert.Equal([0, 5, 10, 15, 20], RunLog.ReadMetrics(c.OutDir).Select(r => r.Step));
        Assert.EndsWith("}\n", File.ReadAllText(metrics));
        Assert.Equal(5, File.ReadAllLines(metrics).Length);
    }
}
