using System.Text.Json;
using MiniGpt.Checkpoints;
using MiniGpt.Config;
using MiniGpt.Tests.TestSupport;
using MiniGpt.Training;

namespace MiniGpt.Tests.Cli;

public class TrainCommandTests
{
    static string WriteConfig(TempDir dir, int maxIters, int logInterval = 1)
    {
        TinyRun.Corpus(dir);
        var json = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["out_dir"] = "out", ["data_dir"] = "cache", ["corpus"] = "corpus.txt",
            ["eval_interval"] = 1_000_000, ["eval_iters"] = 2, ["log_interval"] = logInterval, ["sample_tokens"] = 0,
            ["batch_size"] = 4, ["block_size"] = 16, ["n_layer"] = 2, ["n_head"] = 2, ["n_embd"] = 16,
            ["max_iters"] = maxIters, ["warmup_iters"] = 2, ["lr_decay_iters"] = 1_000_000, ["device"] = "cpu",
        });
        return dir.File("tiny.json", json);
    }

    [Fact]
    public void EvalOnly_SaysWhatItMeasured_NotABestOfInfinity()
    {
        using var dir = new TempDir();
        WriteConfig(dir, maxIters: 5);
        var (code, stdout, stderr) = CliProcess.Run(dir.Path, "train", "--config", "tiny.json", "--eval_only", "true");
        Assert.True(code == 0, stderr);
        Assert.Matches(@"evaluated at step 0: train loss \d+\.\d{4}, val loss \d+\.\d{4}; nothing trained or saved", stdout);
        Assert.DoesNotContain("Infinity", stdout);
        // Nothing logged either: its metrics.jsonl and events made the folder a run that only --overwrite could reuse.
        Assert.Empty(RunDirectory.RunFiles(Path.Combine(dir.Path, "out")));
        (code, _, stderr) = CliProcess.Run(dir.Path, "train", "--config", "tiny.json");
        Assert.True(code == 0, stderr);
        // Starting over would only delete the run it could have evaluated.
        (code, stdout, stderr) = CliProcess.Run(dir.Path, "train", "--config", "tiny.json", "--eval_only", "true", "--overwrite");
        Assert.Equal((2, "error: --overwrite: conflicts with eval_only = true\n"), (code, stderr));
        Assert.True(File.Exists(Path.Combine(dir.Path, "out", "last.ckpt")));
    }

    [Fact]
    public void SigInt_SavesAFinalCheckpoint_ExitsZero_AndResumeContinues()
    {
        using var dir = new TempDir();
        WriteConfig(dir, maxIters: 1_000_000);
        using var run = new CliProcess(dir.Path, "train", "--config", "tiny.json");
        int signalled = 0;
        run.Line += line => { if (line.StartsWith("iter") && Interlocked.Exchange(ref signalled, 1) == 0) run.Signal("INT"); };
        int code = run.WaitForExit(TimeSpan.FromMinutes(2));
        Assert.True(code == 0, $"exit code {code}\n{run.Stdout}\n{run.Stderr}");
        Assert.Contains("interrupted at step", run.Stdout);
        var last = Path.Combine(dir.Path, "out", "last.ckpt");
        int step = Checkpoint.Load(last).Step;
        Assert.True(step >= 1, $"the final checkpoint is at step {step}");

        var (code2, stdout2, stderr2) = CliProcess.Run(dir.Path, "train", "--config", "tiny.json", "--resume", "--max_iters", (step + 3).ToString());
        Assert.True(code2 == 0, $"resume exit code {code2}\n{stdout2}\n{stderr2}");
        Assert.Contains($"resumed at step {step}", stdout2);
        Assert.Contains($"done at step {step + 3}", stdout2);
        Assert.Equal(step + 3, Checkpoint.Load(last).Step);
    }

    [Fact]
    public void BadConfig_ExitsNonZero_NamingTheKeyBeforeTraining()
    {
        using var dir = new TempDir();
        WriteConfig(dir, maxIters: 5);
        var (code, stdout, stderr) = CliProcess.Run(dir.Path, "train", "--config", "tiny.json", "--n_embd", "30", "--n_head", "4");
        Assert.Equal(2, code);
        Assert.Contains("n_embd = 30: must be divisible by n_head (4)", stderr);
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "out")));
        Assert.Equal("", stdout);
    }

    [Fact]
    public void MissingData_ExitsNonZero_WithAClearMessage()
    {
        using var dir = new TempDir();
        WriteConfig(dir, maxIters: 5);
        var (code, _, stderr) = CliProcess.Run(dir.Path, "train", "--config", "tiny.json", "--corpus", "nowhere.txt");
        Assert.Equal(1, code);
        Assert.Contains("nowhere.txt", stderr);
    }

    [Fact]
    public void Help_ListsEveryConfigKey_WithItsValuesDefaultAndDescription()
    {
        using var dir = new TempDir();
        var (code, stdout, _) = InProcessCli.Run(dir.Path, "train", "--help");
        Assert.Equal(0, code);
        var flat = System.Text.RegularExpressions.Regex.Replace(stdout, @"\s+", " ");   // undo the wrapping
        foreach (var key in TrainConfig.Schema.Keys)
            Assert.Contains($"--{key.Name} <{key.Values}> {key.Description} (default {ConfigProblem.Format(key.Default)}", flat);
        Assert.Contains("--position_encoding <learned | sinusoidal | rotary>", stdout);
        Assert.Contains("(default 4; must match the checkpoint to resume)", flat);             // n_layer
        Assert.DoesNotContain("Additional Arguments", stdout);
        Assert.Contains(" train [options] [--<key> <value>...]", flat);   // the overrides, not "additional arguments"
        // And the rules between keys, which each key's own range left out ("lr_decay_iters <integer ≥ 0>", yet 0 is refused).
        Assert.Contains(" rules between keys ", flat);
        foreach (var rule in TrainConfig.Schema.Rules) Assert.Contains($" {rule.Key} {rule.Help} ", flat + " ");
        Assert.Contains(" lr_decay_iters > warmup_iters while decay_lr ", flat + " ");
    }

    [Fact]
    public void ASecondProcess_IsRefused_WhileTheFirstTrains_AndAKill9LeavesNoLockBehind()
    {
        using var dir = new TempDir();
        WriteConfig(dir, maxIters: 1_000_000);
        using var first = new CliProcess(dir.Path, "train", "--config", "tiny.json");
        using var training = new ManualResetEventSlim();
        first.Line += line => { if (line.StartsWith("iter")) training.Set(); };
        Assert.True(training.Wait(TimeSpan.FromMinutes(2)), first.Stdout + first.Stderr);

        var second = CliProcess.Run(dir.Path, "train", "--config", "tiny.json", "--resume");
        Assert.Equal(1, second.Code);
        Assert.Equal("error: out is in use by another training run\n", second.Stderr);

        first.Signal("KILL");
        first.WaitForExit(TimeSpan.FromMinutes(1));
        var third = CliProcess.Run(dir.Path, "train", "--config", "tiny.json", "--resume", "--max_iters", "1");
        Assert.True(third.Code == 0, third.Stderr);
        Assert.Contains("done at step 1", third.Stdout);

        var fresh = CliProcess.Run(dir.Path, "train", "--config", "tiny.json");
        Assert.Equal(2, fresh.Code);
        Assert.StartsWith("error: out already holds a run (last.ckpt, ", fresh.Stderr);
        Assert.EndsWith("); continue it with --resume, start over with --overwrite, or choose another out_dir\n", fresh.Stderr);
    }

    [Fact]
    public void Auto_FallingBackToTheCpu_IsSaid_AndRefusedForBfloat16()
    {
        if (TorchSharp.torch.cuda.is_available()) return;   // nothing to fall back from on a machine that has CUDA
        using var dir = new TempDir();
        WriteConfig(dir, maxIters: 1);
        var cpu = InProcessCli.Run(dir.Path, "train", "--config", "tiny.json", "--device", "auto");
        Assert.True(cpu.Code == 0, cpu.Stderr);
        Assert.Equal("warning: device = auto found no CUDA device (or no CUDA libtorch); training on the CPU\n", cpu.Stderr);
        var bf16 = InProcessCli.Run(dir.Path, "train", "--config", "tiny.json", "--device", "auto", "--dtype", "bfloat16", "--overwrite");
        Assert.Equal(2, bf16.Code);
        Assert.Equal("error: dtype = bfloat16: device = auto found no CUDA device, and bfloat16 on the CPU is slow; set device = cpu to run it there anyway\n", bf16.Stderr);
    }
}
