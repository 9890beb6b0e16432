using System.Text.Json;
using MiniGpt.Tests.TestSupport;

namespace MiniGpt.Tests.Cli;

public class BenchCommandTests
{
    static readonly string TinyConfig = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "configs", "tiny.json"));

    [Fact]
    public void Bench_PrintsJsonWithTheMeasuredFields()
    {
        using var dir = new TempDir();
        var (code, stdout, stderr) = CliProcess.Run(dir.Path, "bench", "--config", TinyConfig, "--iters", "5", "--warmup", "1", "--device", "cpu", "--peak-flops", "1e12");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var j = doc.RootElement;
        Assert.Equal("cpu", j.GetProperty("device").GetString());
        Assert.Equal(5, j.GetProperty("iters").GetInt32());
        double ms = j.GetProperty("ms_per_iter").GetDouble(), tps = j.GetProperty("tokens_per_sec").GetDouble();
        Assert.True(ms > 0);
        Assert.Equal(4 * 16 / (ms / 1000), tps, 0.5 + tps * 0.001);          // batch 4 × block 16 from tiny.json
        long n = j.GetProperty("parameters").GetInt64();
        Assert.Equal(6.0 * n + 12.0 * 2 * 2 * 8 * 16, j.GetProperty("flops_per_token").GetDouble());
        double mfu = j.GetProperty("flops_per_token").GetDouble() * tps / 1e12;
        Assert.InRange(j.GetProperty("mfu").GetDouble(), mfu * 0.999 - 1e-5, mfu * 1.001 + 1e-5);
        Assert.True(j.GetProperty("memory_bytes").GetInt64() > 10_000_000, "peak RSS should be reported on the CPU");
    }

    [Fact]
    public void Bench_RejectsABadDtype()
    {
        using var dir = new TempDir();
        var (code, stdout, stderr) = CliProcess.Run(dir.Path, "bench", "--config", TinyConfig, "--dtype", "float8");
        Assert.Equal(2, code);
        Assert.Equal("error: --dtype 'float8': must be one of float32 or bfloat16\nsee 'minigpt bench --help'\n", stderr);
        Assert.Equal("", stdout);
    }

    [Fact]
    public void Bench_TimesWindowsOfSteps_WithOneSyncEach()
    {
        using var dir = new TempDir();
        var (code, stdout, stderr) = CliProcess.Run(dir.Path, "bench", "--config", TinyConfig, "--iters", "7", "--warmup", "0", "--sync-every", "3", "--device", "cpu");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal(3, doc.RootElement.GetProperty("sync_every").GetInt32());
        Assert.Equal(6, doc.RootElement.GetProperty("iters").GetInt32());      // two whole windows of 3
        Assert.True(doc.RootElement.GetProperty("ms_per_iter").GetDouble() > 0);
    }

    [Fact]
    public void Bench_RejectsAWindowLongerThanTheRun()
    {
        using var dir = new TempDir();
        var (code, _, stderr) = CliProcess.Run(dir.Path, "bench", "--config", TinyConfig, "--iters", "4", "--sync-every", "5", "--peak-flops", "-1");
        Assert.Equal(2, code);
        Assert.Equal("error: --peak-flops -1: must be in (0, 1E+18]\n", stderr);
        (code, _, stderr) = CliProcess.Run(dir.Path, "bench", "--config", TinyConfig, "--iters", "4", "--sync-every", "5");
        Assert.Equal(2, code);
        Assert.Equal("error: --sync-every 5: must be in [1, iters = 4]\n", stderr);
    }

    [Fact]
    public void Bench_SaysWhichPeakItAssumed_AndKeepsStdoutForTheJson()
    {
        using var dir = new TempDir();
        var given = CliProcess.Run(dir.Path, "bench", "--config", TinyConfig, "--iters", "2", "--warmup", "0", "--peak-flops", "2e12");
        using (var doc = JsonDocument.Parse(given.Stdout)) Assert.Equal(("--peak-flops", 2e12),
            (doc.RootElement.GetProperty("peak_flops_source").GetString(), doc.RootElement.GetProperty("peak_flops").GetDouble()));
        if (TorchSharp.torch.cuda.is_available()) return;   // the rest shows what happens without CUDA
        var auto = CliProcess.Run(dir.Path, "bench", "--config", TinyConfig, "--iters", "2", "--warmup", "0", "--device", "auto");
        Assert.True(auto.Code == 0, auto.Stderr);
        using (var doc = JsonDocument.Parse(auto.Stdout))                          // nothing but the JSON
        {
            // No peak given: measured here, and mfu is the share of it.
            var j = doc.RootElement;
            Assert.Equal("cpu", j.GetProperty("device").GetString());
            Assert.StartsWith("measured: fastest of 5 1024x1024 float32 matrix products on the CPU", j.GetProperty("peak_flops_source").GetString());
            double peak = j.GetProperty("peak_flops").GetDouble(), expected = j.GetProperty("flops_per_token").GetDouble() * j.GetProperty("tokens_per_sec").GetDouble() / peak;
            Assert.True(peak is > 1e8 and < 1e14, $"a CPU's measured peak of {peak:E2} FLOP/s");
            Assert.InRange(j.GetProperty("mfu").GetDouble(), expected * 0.999 - 1e-5, expected * 1.001 + 1e-5);
        }
        var set = CliProcess.Run(dir.Path, "bench", "--config", dir.File("peak.json", File.ReadAllText(TinyConfig).TrimEnd().TrimEnd('}') + ", \"peak_flops\": 3e12 }"),
            "--iters", "2", "--warmup", "0", "--device", "cpu");
        Assert.True(set.Code == 0, set.Stderr);
        using (var doc = JsonDocument.Parse(set.Stdout)) Assert.Equal(("config peak_flops", 3e12),
            (doc.RootElement.GetProperty("peak_flops_source").GetString(), doc.RootElement.GetProperty("peak_flops").GetDouble()));
        Assert.Contains("warning: device = auto found no CUDA device (or no CUDA libtorch); timing the CPU", auto.Stderr);
        var bf16 = CliProcess.Run(dir.Path, "bench", "--config", TinyConfig, "--device", "auto", "--dtype", "bfloat16");
        Assert.Equal(2, bf16.Code);
        Assert.Equal("", bf16.Stdout);
        Assert.Contains("error: --dtype bfloat16: device = auto found no CUDA device, and bfloat16 on the CPU is slow; set device = cpu to run it there anyway", bf16.Stderr);
    }

    [Fact]
    public void BenchGenerate_RefusesAModelTheHostCannotHold_InOneLine()
    {
        using var dir = new TempDir();
        // Every key within its range, but 1000 blocks of width 60000: 43 trillion weights.
        var huge = dir.File("huge.json", File.ReadAllText(TinyConfig).Replace("\"n_layer\": 2", "\"n_layer\": 1000").Replace("\"n_embd\": 16", "\"n_embd\": 60000"));
        var (code, stdout, stderr) = CliProcess.Run(dir.Path, "bench", "--generate", "--config", huge, "--skip-uncached");
        Assert.NotEqual(0, code);
        Assert.Equal("", stdout);
        var line = Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("error: the model has 43,200,", line);
        Assert.Contains("GB in host memory (4 bytes each)", line);
    }

    [Fact]
    public void BenchGenerate_PrintsPrefillAndDecodeRates_WithAndWithoutTheCache()
    {
        using var dir = new TempDir();
        var (code, stdout, stderr) = CliProcess.Run(dir.Path, "bench", "--generate", "--config", TinyConfig, "--device", "cpu",
            "--prompt-tokens", "100", "--max-new-tokens", "20", "--num-samples", "2", "--rounds", "1");
        Assert.True(code == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var j = doc.RootElement;
        Assert.Equal(("generate", "cpu", 2, 20), (j.GetProperty("mode").GetString(), j.GetProperty("device").GetString(), j.GetProperty("num_samples").GetInt32(), j.GetProperty("new_tokens").GetInt32()));
        Assert.Equal(16, j.GetProperty("prompt_tokens").GetInt32());   // tiny.json's block_size: a longer prompt keeps its last block
        double ttft = j.GetProperty("time_to_first_token_ms").GetDouble(), prefill = j.GetProperty("prefill_tokens_per_sec").GetDouble();
        Assert.InRange(prefill, 2 * 16 / ((ttft + 0.05) / 1000) * 0.999, 2 * 16 / (Math.Max(ttft - 0.05, 0.01) / 1000) * 1.001);   // ttft is rounded to 0.1 ms
        double cached = j.GetProperty("decode_tokens_per_sec").GetDouble(), plain = j.GetProperty("decode_tokens_per_sec_uncached").GetDouble();
        Assert.True(cached > 0 && plain > 0);
        // The rates are rounded to 0.1 and the ratio, of the unrounded rates, to 0.01: on a loaded machine the uncached
        // rate can be near 10 tokens/s, where its rounding alone moves the ratio by 0.5 %.
        Assert.InRange(j.GetProperty("cache_speedup").GetDouble(), (cached - 0.05) / (plain + 0.05) - 0.005, (cached + 0.05) / (plain - 0.05) + 0.005);
        Assert.Equal(2 * cached, j.GetProperty("decode_tokens_per_sec_all_samples").GetDouble(), 0.2);
        Assert.Equal(1, j.GetProperty("decode_threads").GetInt32());   // a model of a few kilobytes decodes on one thread on the CPU
        Assert.False(j.GetProperty("sliced_rows").GetBoolean());      // and reads its weights from cache, unsliced
    }

    [Fact]
    public void BenchGenerate_OfACheckpoint_RunsInTheDtypeAsked_AndABadVocabularyIsAUsageError()
    {
        using var dir = new TempDir();
        var c = TinyRun.Config(dir) with { MaxIters = 2 };
        using (var t = new MiniGpt.Training.Trainer(c)) t.Run();
        string[] common = ["bench", "--generate", "--config", TinyConfig, "--device", "cpu", "--prompt-tokens", "4", "--max-new-tokens", "2", "--rounds", "1", "--skip-uncached"];
        // --dtype was dropped for a checkpoint, and the JSON said float32.
        var (code, stdout, stderr) = CliProcess.Run(dir.Path, [.. common, "--checkpoint", c.OutDir, "--dtype", "bfloat16"]);
        Assert.True(code == 0, stderr);
        using (var doc = JsonDocument.Parse(stdout)) Assert.Equal("bfloat16", doc.RootElement.GetProperty("dtype").GetString());
        // A vocabulary of no ids was libtorch's "internal error".
        (code, stdout, stderr) = CliProcess.Run(dir.Path, [.. common, "--vocab-size", "0"]);
        Assert.Equal((2, "", "error: --vocab-size 0: must be ≥ 1\n"), (code, stdout, stderr));
    }
}
