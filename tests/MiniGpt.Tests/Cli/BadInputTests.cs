using System.Text.Json;
using MiniGpt.Config;
using MiniGpt.Tests.TestSupport;
using MiniGpt.Training;
using TorchSharp;

namespace MiniGpt.Tests.Cli;

/// <summary>
/// Bad input to every command, through the real entry point: each gets its exit code (README: Exit codes) and
/// one "error:" line per problem that names the key, value or file, and never a stack trace.
/// </summary>
public sealed class BadInputTests : IDisposable
{
    readonly TempDir dir = new();

    public BadInputTests()
    {
        var c = TinyRun.Config(dir) with { MaxIters = 2 };
        using (var t = new Trainer(c)) t.Run();
        File.Copy(Path.Combine(c.OutDir, "last.ckpt"), dir.File("crafted.ckpt"));
        CraftedCheckpoint.EditJson(dir.File("crafted.ckpt"), json => json.Replace("\"n_layer\": 2", "\"n_layer\": 0"));
        File.Copy(Path.Combine(c.OutDir, "last.ckpt"), dir.File("hollow.ckpt"));
        CraftedCheckpoint.EditMeta(dir.File("hollow.ckpt"), meta => meta["tensors"] = null);
        dir.File("infinite.json", """{ "learning_rate": 1e999, "batch_size": 1048576, "block_size": 1048576 }""");
        dir.File("tiny.json", JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["out_dir"] = "out", ["data_dir"] = "cache2", ["corpus"] = "corpus.txt", ["eval_iters"] = 1, ["sample_tokens"] = 0,
            ["batch_size"] = 2, ["block_size"] = 8, ["n_layer"] = 1, ["n_head"] = 1, ["n_embd"] = 8, ["max_iters"] = 1,
            ["warmup_iters"] = 0, ["lr_decay_iters"] = 10, ["device"] = "cpu",
        }));
        dir.File("nocorpus.json", File.ReadAllText(dir.File("tiny.json")).Replace("\"corpus\":\"corpus.txt\"", "\"corpus\":null").Replace("\"data_dir\":\"cache2\"", "\"data_dir\":\"empty\""));
        dir.File("broken.json", """{ "n_layer": 4, """);
        File.WriteAllBytes(dir.File("latin1.txt"), [0x61, 0x62, 0xE9, 0x0A]);
        dir.File("nofield.jsonl", "{\"text\": \"a\"}\n{\"body\": \"b\"}\n");
        Directory.CreateDirectory(Path.Combine(dir.Path, "empty"));
        Directory.CreateDirectory(Path.Combine(dir.Path, "empty.png"));
    }

    public void Dispose() => dir.Dispose();

    public static TheoryData<string, int, string> Cases() => new()
    {
        // usage and config errors: 2
        { "nosuchcommand", 2, "error: Required command was not provided.\nerror: Unrecognized command or argument 'nosuchcommand'." },
        { "train --config broken.json", 2, "error: broken.json: not valid JSON: " },
        { "train --config tiny.json --n_layr 2", 2, "error: n_layr: unknown key (did you mean 'n_layer'?)" },
        { "train --config tiny.json --device gpu", 2, "error: device = 'gpu': expected one of auto, cpu or cuda" },
        { "train --config tiny.json --dropout 1 --learning_rate -1", 2, "error: dropout = 1: must be in [0, 1)\nerror: learning_rate = -1: must be in (0, 10]" },
        { "train --config tiny.json --max_iters 1 --max_iters 2", 2, "error: max_iters: given twice on the command line" },
        { "train --config tiny.json --resume --init_from scratch", 2, "error: init_from = 'scratch': conflicts with --resume" },
        { "train --config tiny.json --resume --overwrite", 2, "error: --overwrite: conflicts with --resume" },
        { "train --config tiny.json --out_dir run", 2, "error: run already holds a run (…" },
        { "train --config infinite.json", 2, "error: infinite.json: learning_rate = Infinity: must be a finite number\nerror: infinite.json: block_size = 1048576: times batch_size (1048576) must not exceed 2147483647 tokens per micro-batch" },
        { "train --config tiny.json stray", 2, "error: unexpected argument 'stray'; config overrides look like --max_iters 200" },
        { "prepare --corpus corpus.txt --out o --tokenizer words", 2, "error: --tokenizer 'words': must be one of char, cl100k_base, o200k_base or bpe" },
        { "prepare --corpus corpus.txt --out o --compact", 2, "error: --compact: applies to BPE tokenizers; a char vocabulary is already compact" },
        { "prepare --corpus corpus.txt --out o --val-fraction 1", 2, "error: --val-fraction 1: must be in (0, 1)" },
        { "prepare --corpus corpus.txt --out o --workers 0", 2, "error: --workers 0: must be at least 1" },
        { "prepare --corpus nofield.jsonl --out o", 1, "error: {dir}/nofield.jsonl: line 2: no field \"text\" (minigpt prepare --skip-bad-documents skips such documents and counts them)" },
        { "prepare --corpus corpus.txt --out o --tokenizer bpe", 2, "error: --tokenizer bpe: needs --vocab FILE and --merges FILE, or --tiktoken FILE" },
        { "prepare --out o", 2, "error: Option '--corpus' is required." },
        { "generate --checkpoint run --temperature -1 --top-k 0", 2, "error: --temperature -1: must be a finite number ≥ 0\nerror: --top-k 0: must be ≥ 1" },
        { "generate --checkpoint run --prompt a --prompt-file p.txt", 2, "error: --prompt-file: give --prompt or --prompt-file, not both" },
        { "eval --checkpoint run --batches 0", 2, "error: --batches 0: must be ≥ 1" },
        { "eval --checkpoint run --split test", 2, "error: --split 'test': must be one of train or val" },
        { "eval --checkpoint run --batches many", 2, "error: --batches 'many': expected an integer" },
        { "generate --checkpoint run --top-p high", 2, "error: --top-p 'high': expected a number" },
        // System.CommandLine's own words named .NET's type: "as expected type 'System.Double'".
        { "generate --checkpoint run --temperature inf --seed abc", 2, "error: --temperature 'inf': expected a number\nerror: --seed 'abc': expected an integer" },
        { "plot --run run --width wide --out loss.png", 2, "error: --width 'wide': expected an integer" },
        // 10⁸ samples in one batch took 22 GB before the kernel killed the process.
        { "bench --generate --config tiny.json --device cpu --prompt-tokens 0 --num-samples 100000000", 2,
          "error: --prompt-tokens 0: must be in [1, 1,048,576]\nerror: --num-samples 100000000: must be in [1, 1,024]: they are decoded as one batch" },
        { "bench --config tiny.json --iters 0 --warmup -1", 2, "error: --iters 0: must be ≥ 1\nerror: --warmup -1: must be ≥ 0" },
        // Each mode's flags were dropped by the other without a word, whatever their values.
        { "bench --generate --config tiny.json --iters -5 --peak-flops 1e12", 2, "error: --iters: times training steps, not sampling: drop it with --generate\nerror: --peak-flops: times training steps, not sampling: drop it with --generate" },
        { "bench --config tiny.json --max-new-tokens 5", 2, "error: --max-new-tokens: applies with --generate only" },
        { "bench --config tiny.json --iters 4 --sync-every 5", 2, "error: --sync-every 5: must be in [1, iters = 4]" },
        { "bench --config broken.json", 2, "error: broken.json: not valid JSON: " },
        { "plot --run run --out loss.jpg", 2, "error: --out 'loss.jpg': must name a .png or .svg file" },
        { "plot --run run --tags , --out loss.png", 2, "error: --tags ',': must name at least one scalar tag" },   // was "no scalars for  in …", exit 1
        { "plot --run run --out empty.png", 2, "error: --out 'empty.png': is a folder; give a file name" },
        { "export --checkpoint run --out o --dtype half", 2, "error: --dtype 'half': must be one of float32 or bfloat16" },
        { "export --checkpoint run", 2, "error: Option '--out' is required." },
        { "plot --run run --smoothing 1 --width 0", 2, "error: --smoothing 1: must be in [0, 1)\nerror: --width 0: must be in [16, 20000] pixels" },
        // data errors: 1
        { "train --config nowhere.json", 1, "error: config file nowhere.json not found" },
        { "train --config tiny.json --corpus none.txt", 1, "error: corpus none.txt not found" },
        { "train --config nocorpus.json", 1, "error: no token cache at empty (meta.json missing) (to build one: minigpt prepare --corpus FILE --out empty)" },
        { "train --config tiny.json --resume", 1, "error: checkpoint out/last.ckpt not found" },
        { "prepare --corpus latin1.txt --out o", 1, "error: {dir}/latin1.txt: invalid UTF-8 at byte offset 2 (minigpt prepare --replace-invalid-utf8 replaces invalid bytes with U+FFFD)" },
        { "prepare --corpus corpus.txt --out run", 1, "error: run is not empty and holds no token cache; a token cache needs an empty or new folder" },
        { "generate --checkpoint nowhere", 1, "error: checkpoint nowhere not found" },
        { "generate --checkpoint hollow.ckpt", 1, "error: checkpoint hollow.ckpt is unusable: damaged metadata: a required field is missing" },
        { "generate --checkpoint crafted.ckpt", 1, "error: checkpoint crafted.ckpt is unusable: its config is invalid: n_layer = 0: must be in [1, 1024]" },
        { "generate --checkpoint run --prompt QZ", 1, "error: characters not in the vocabulary: 'Q' 'Z'" },
        { "eval --checkpoint run --text nowhere.txt", 1, "error: text file nowhere.txt not found" },
        { "eval --checkpoint run --data-dir empty", 1, "error: no token cache at empty (meta.json missing) (to build one: minigpt prepare --corpus FILE --out empty)" },
        { "export --checkpoint run --out run", 1, "error: run already exists and is not empty; export writes a new or empty folder" },
        { "train --config tiny.json --init_from gpt3", 1, "error: gpt3 is neither a model folder nor one of gpt2, gpt2-medium, gpt2-large, gpt2-xl" },
        { "train --config tiny.json --init_from empty", 1, "error: empty is not a model folder: it has no config.json" },
        { "plot --run empty", 1, "error: no scalars for train/loss, val/loss in empty; tags present: none" },
        { "runs nowhere", 1, "error: folder nowhere not found" },
        { "runs tiny.json", 1, "error: tiny.json is a file, not a folder of runs" },   // was "folder tiny.json not found"
        { "plot --run tiny.json", 1, "error: tiny.json is a file, not a run folder" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void BadInput_GetsItsExitCode_AndOneLinePerProblem(string args, int code, string expected)
    {
        var r = InProcessCli.Run(dir.Path, args.Split(' '));
        Assert.True(code == r.Code, $"exit code {r.Code}, expected {code}\n{r.Stderr}");
        var lines = r.Stderr.TrimEnd('\n').Split('\n').Where(l => !l.StartsWith("see 'minigpt")).ToList();
        expected = expected.Replace("{dir}", dir.Path);
        if (expected.EndsWith(' ')) Assert.StartsWith(expected, Assert.Single(lines));   // the rest is System.Text.Json's own words
        else if (expected.EndsWith('…')) Assert.StartsWith(expected[..^1], Assert.Single(lines));
        else Assert.Equal(expected, string.Join("\n", lines));
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.DoesNotContain("frame #", r.Stderr);
    }

    [Fact]
    public void CudaAskedForWithoutCuda_IsAUsageError_InEveryCommandThatRuns()
    {
        if (torch.cuda.is_available()) return;   // nothing to show on a machine that has it
        Assert.Equal((2, "error: --device cuda: no CUDA device or CUDA libtorch is available\n"), Tail(InProcessCli.Run(dir.Path, "generate", "--checkpoint", "run", "--device", "cuda")));
        Assert.Equal((2, "error: --device cuda: no CUDA device or CUDA libtorch is available\n"), Tail(InProcessCli.Run(dir.Path, "eval", "--checkpoint", "run", "--device", "cuda")));
        Assert.Equal((2, "error: device = cuda: no CUDA device or CUDA libtorch is available\n"), Tail(InProcessCli.Run(dir.Path, "train", "--config", "tiny.json", "--device", "cuda")));
        var bench = InProcessCli.Run(dir.Path, "bench", "--config", "tiny.json", "--device", "cuda");
        Assert.Equal((2, "", "error: --device cuda: no CUDA device or CUDA libtorch is available\n"), (bench.Code, bench.Stdout, bench.Stderr));
        // From the config file, not the flag: named as the file's, as train names it.
        var tiny = File.ReadAllText(Path.Combine(dir.Path, "tiny.json"));
        Assert.Contains("\"device\":\"cpu\"", tiny);
        dir.File("cuda.json", tiny.Replace("\"device\":\"cpu\"", "\"device\":\"cuda\""));
        foreach (var mode in new[] { "--iters", "--generate" })
        {
            var fromFile = InProcessCli.Run(dir.Path, mode == "--iters" ? ["bench", "--config", "cuda.json", "--iters", "1"] : ["bench", "--config", "cuda.json", "--generate"]);
            Assert.Equal((2, "error: cuda.json: device = cuda: no CUDA device or CUDA libtorch is available\n"), Tail(fromFile));
        }
    }

    [Fact]
    public void OutOfMemory_InPrepare_NamesWhatPrepareHoldsWhole_NotABatch()
    {
        // A JSON line of 40 MB under a 64 MB heap: the reader's buffer for it does not fit. Prepare streams a corpus;
        // what it holds whole is its longest line, row group or uncut run, not a batch or a model.
        using var dir = new TempDir();
        File.WriteAllText(dir.File("big.jsonl"), "{\"text\": \"" + new string('a', 40_000_000) + "\"}\n");
        using var p = new CliProcess(new Dictionary<string, string?> { ["DOTNET_GCHeapHardLimit"] = "0x4000000" }, dir.Path, "prepare", "--corpus", "big.jsonl", "--out", "o");
        Assert.Equal(1, p.WaitForExit(TimeSpan.FromMinutes(2)));
        Assert.Equal("error: out of memory: Exception of type 'System.OutOfMemoryException' was thrown. (prepare holds a corpus's longest JSON line, " +
                     "Parquet row group, or run of text with no space or line break to cut it at, whole)\n", p.Stderr);
        Assert.False(Directory.Exists(dir.File("o")), "a failed prepare leaves no folder it made");
        // A bad line before the one that does not fit is still the error: its batch goes on before the reader fails.
        File.WriteAllText(dir.File("bad-first.jsonl"), "{\"body\": 1}\n{\"text\": \"" + new string('a', 40_000_000) + "\"}\n");
        foreach (var tokenizer in new[] { "cl100k_base", "char" })
        {
            using var q = new CliProcess(new Dictionary<string, string?> { ["DOTNET_GCHeapHardLimit"] = "0x4000000" }, dir.Path, "prepare", "--corpus", "bad-first.jsonl", "--tokenizer", tokenizer, "--out", "o2");
            Assert.Equal(1, q.WaitForExit(TimeSpan.FromMinutes(2)));
            Assert.Equal($"error: {dir.File("bad-first.jsonl")}: line 1: no field \"text\" (minigpt prepare --skip-bad-documents skips such documents and counts them)\n", q.Stderr);
        }
    }

    static (int, string) Tail((int Code, string Stdout, string Stderr) r) => (r.Code, r.Stderr);
}
