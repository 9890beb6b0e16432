using System.CommandLine;
using MiniGpt.Cli;
using MiniGpt.Data;
using MiniGpt.Training;

namespace MiniGpt.Tests.Cli;

public class CliErrorsTests
{
    [Fact]
    public void EachKindOfError_HasOneExitCode()
    {
        var cases = new (Exception Error, ExitCode Code)[]
        {
            (new ConfigException("n_layer", 0, "must be ≥ 1"), ExitCode.Usage),
            (new TrainingDivergedException(7, "the loss"), ExitCode.Diverged),
            (new DataException("x.ckpt", "checkpoint x.ckpt not found"), ExitCode.Failed),
            (new TokenCacheException("cache", "no token cache at cache"), ExitCode.Failed),
            (new InvalidUtf8Exception(3, "c.txt"), ExitCode.Failed),
            (new UnknownCharactersException(["Q"]), ExitCode.Failed),
            (new IOException("No space left on device"), ExitCode.Failed),
            (new InvalidOperationException("a bug"), ExitCode.Failed),
        };
        foreach (var (error, code) in cases)
            Assert.True(code == CliErrors.Describe(error, NoFlags).Code, $"{error.GetType().Name}: expected {code}");
        Assert.Equal([0, 1, 2, 3], Enum.GetValues<ExitCode>().Select(c => (int)c));   // the README's table
    }

    static readonly IReadOnlyDictionary<string, string> NoFlags = new Dictionary<string, string>();

    [Fact]
    public void Problems_NameTheKey_AsTheCommandsFlag_WhenItHasOne_AndTheValueDidNotComeFromAFile()
    {
        var flags = CliErrors.FlagsByKey([new Option<int>("--top-k"), new Option<int>("--sync-every"), new Option<int>("--n-layer"), new Option<bool>("--compact")]);
        Assert.Equal("--top-k", flags["top_k"]);
        var e = new ConfigException([new("top_k", "0", "must be ≥ 1"), new("sync_every", "5", "must be in [1, iters = 4]"), new("n_layer", "0", "must be ≥ 1", "c.json"),
            new("block_size", "9", "too long"), new("compact", null, "applies to BPE tokenizers"), new(null, null, "not valid JSON")]);
        Assert.Equal(["--top-k 0: must be ≥ 1", "--sync-every 5: must be in [1, iters = 4]", "c.json: n_layer = 0: must be ≥ 1", "block_size = 9: too long",
            "--compact: applies to BPE tokenizers", "not valid JSON"], CliErrors.Describe(e, flags).Lines);
        Assert.Equal(["top_k = 0: must be ≥ 1", "sync_every = 5: must be in [1, iters = 4]", "c.json: n_layer = 0: must be ≥ 1", "block_size = 9: too long",
            "compact: applies to BPE tokenizers", "not valid JSON"], CliErrors.Describe(e, NoFlags).Lines);
    }

    [Fact]
    public void DataErrors_ThatACommandCanFix_SayWhich()
    {
        Assert.Equal(["no token cache at c (to build one: minigpt prepare --corpus FILE --out c)"],
            CliErrors.Describe(new TokenCacheException("c", "no token cache at c", missing: true), NoFlags).Lines);
        Assert.Equal(["token cache c was built with tokenizer char (to build it again: minigpt prepare --corpus FILE --out c)"],
            CliErrors.Describe(new TokenCacheException("c", "token cache c was built with tokenizer char"), NoFlags).Lines);
        Assert.Equal(["c.txt: invalid UTF-8 at byte offset 3 (minigpt prepare --replace-invalid-utf8 replaces invalid bytes with U+FFFD)"],
            CliErrors.Describe(new InvalidUtf8Exception(3, "c.txt"), NoFlags).Lines);
    }

    [Fact]
    public void ANativeError_IsItsFirstLine_NotLibtorchsFrames()
    {
        var native = new System.Runtime.InteropServices.ExternalException("index out of range in self\nException raised from operator() at IndexSelect.cpp:118\nframe #0: c10::Error::Error");
        Assert.Equal(["internal error: ExternalException: index out of range in self (MINIGPT_TRACE=1 prints the stack trace)"], CliErrors.Describe(native, NoFlags).Lines);
    }

    [Fact]
    public void OutOfMemory_IsASize_NotABug()
    {
        // batch_size 65,536 × block_size 1,024 is within each key's range; its first batch is not within memory.
        var native = new System.Runtime.InteropServices.ExternalException("[enforce fail at alloc_cpu.cpp:118] data. DefaultCPUAllocator: can't allocate memory: you tried to allocate 4294967296 bytes. Error code 12 (Cannot allocate memory)\nframe #0: c10::Error");
        var (code, lines) = CliErrors.Describe(native, NoFlags);
        Assert.Equal(ExitCode.Failed, code);
        Assert.Equal(["out of memory: can't allocate memory: you tried to allocate 4294967296 bytes. Error code 12 (Cannot allocate memory) (a smaller batch_size, block_size or model needs less)"], lines);
        Assert.Equal(["out of memory: Array dimensions exceeded supported range. (a smaller batch_size, block_size or model needs less)"],
            CliErrors.Describe(new OutOfMemoryException("Array dimensions exceeded supported range."), NoFlags).Lines);
    }

    [Fact]
    public void ABug_IsOneLine_WithTheStackTraceOnlyWhenAskedFor()
    {
        Exception bug;
        try { throw new InvalidOperationException("boom"); }
        catch (InvalidOperationException e) { bug = e; }
        Assert.Equal(["internal error: InvalidOperationException: boom (MINIGPT_TRACE=1 prints the stack trace)"], CliErrors.Describe(bug, NoFlags).Lines);
        Environment.SetEnvironmentVariable("MINIGPT_TRACE", "1");
        try
        {
            var line = Assert.Single(CliErrors.Describe(bug, NoFlags).Lines);
            Assert.Contains("   at MiniGpt.Tests.Cli.CliErrorsTests.ABug_IsOneLine", line);
        }
        finally { Environment.SetEnvironmentVariable("MINIGPT_TRACE", null); }
    }

    [Fact]
    public void ALibtorchThatDoesNotLoad_IsOneLine_NamingTheVersionNeeded()
    {
        var failed = new TypeInitializationException("TorchSharp.torch", new NotSupportedException("The libtorch-cpu-linux-x64 package version 2.10.0 is not restored.\n   at TorchSharp.torch.LoadNativeBackend"));
        var (code, lines) = CliErrors.Describe(failed, NoFlags);
        Assert.Equal(ExitCode.Failed, code);
        Assert.Equal(["cannot load libtorch (The libtorch-cpu-linux-x64 package version 2.10.0 is not restored.); MiniGpt needs libtorch 2.10: the TorchSharp-cpu " +
                      "package (the default build), or PyTorch 2.10 built with the C++11 ABI through scripts/minigpt-gpu.sh (MINIGPT_TRACE=1 shows TorchSharp's load trace)"], lines);
        // What TorchSharp printed while failing is kept out of the way, and shown when asked for.
        var withTrace = new NativeLoadException(failed, "Trace from LoadNativeBackend:\n  Step 1\n");
        Assert.Single(CliErrors.Describe(withTrace, NoFlags).Lines);
        Environment.SetEnvironmentVariable("MINIGPT_TRACE", "1");
        try { Assert.Equal(["Trace from LoadNativeBackend:", "  Step 1"], CliErrors.Describe(withTrace, NoFlags).Lines.Skip(1)); }
        finally { Environment.SetEnvironmentVariable("MINIGPT_TRACE", null); }
        Assert.Equal(ExitCode.Failed, CliErrors.Describe(new DllNotFoundException("libLibTorchSharp.so"), NoFlags).Code);
    }
}
