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
            Assert.True(code == CliErrors.Describe(error, KeySpelling.Flags).Code, $"{error.GetType().Name}: expected {code}");
        Assert.Equal([0, 1, 2, 3], Enum.GetValues<ExitCode>().Select(c => (int)c));   // the README's table
    }

    [Fact]
    public void Problems_NameTheKey_AsTheCommandSpellsIt_UnlessTheyCameFromAFile()
    {
        var e = new ConfigException([new("top_k", "0", "must be ≥ 1"), new("sync_every", "5", "must be in [1, iters = 4]"), new("n_layer", "0", "must be ≥ 1", "c.json"), new(null, null, "not valid JSON")]);
        Assert.Equal(["--top-k 0: must be ≥ 1", "--sync-every 5: must be in [1, iters = 4]", "c.json: n_layer = 0: must be ≥ 1", "not valid JSON"],
            CliErrors.Describe(e, KeySpelling.Flags).Lines);
        Assert.Equal(["top_k = 0: must be ≥ 1", "sync_every = 5: must be in [1, iters = 4]", "c.json: n_layer = 0: must be ≥ 1", "not valid JSON"],
            CliErrors.Describe(e, KeySpelling.ConfigKeys).Lines);
    }

    [Fact]
    public void DataErrors_ThatACommandCanFix_SayWhich()
    {
        Assert.Equal(["no token cache at c (to build one: minigpt prepare --corpus FILE --out c)"],
            CliErrors.Describe(new TokenCacheException("c", "no token cache at c"), KeySpelling.Flags).Lines);
        Assert.Equal(["c.txt: invalid UTF-8 at byte offset 3 (minigpt prepare --replace-invalid-utf8 replaces invalid bytes with U+FFFD)"],
            CliErrors.Describe(new InvalidUtf8Exception(3, "c.txt"), KeySpelling.Flags).Lines);
    }

    [Fact]
    public void ABug_IsOneLine_WithTheStackTraceOnlyWhenAskedFor()
    {
        Exception bug;
        try { throw new InvalidOperationException("boom"); }
        catch (InvalidOperationException e) { bug = e; }
        Assert.Equal(["internal error: InvalidOperationException: boom (MINIGPT_TRACE=1 prints the stack trace)"], CliErrors.Describe(bug, KeySpelling.Flags).Lines);
        Environment.SetEnvironmentVariable("MINIGPT_TRACE", "1");
        try
        {
            var line = Assert.Single(CliErrors.Describe(bug, KeySpelling.Flags).Lines);
            Assert.Contains("   at MiniGpt.Tests.Cli.CliErrorsTests.ABug_IsOneLine", line);
        }
        finally { Environment.SetEnvironmentVariable("MINIGPT_TRACE", null); }
    }
}
