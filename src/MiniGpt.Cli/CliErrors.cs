using MiniGpt.Data;
using MiniGpt.Training;

namespace MiniGpt.Cli;

/// <summary>The exit codes of every command.</summary>
public enum ExitCode
{
    /// <summary>Done, or interrupted by Ctrl+C or SIGTERM after the final checkpoint was saved.</summary>
    Ok = 0,
    /// <summary>A file that cannot be used (missing, damaged, mismatched), text a model cannot encode, or a failure while running.</summary>
    Failed = 1,
    /// <summary>A bad command line or config: unknown command, option or key, or a value outside its rule.</summary>
    Usage = 2,
    /// <summary>The loss or the gradient became NaN or Inf; the last good checkpoint was kept.</summary>
    Diverged = 3,
}

/// <summary>How a command spells the library's keys: as config keys (train), or as its --kebab-case flags.</summary>
public enum KeySpelling { ConfigKeys, Flags }

/// <summary>
/// The one place that turns what went wrong into an exit code and an error message. The library's typed
/// exceptions carry keys, values and files; only here do they meet the command line's spelling and hints.
/// </summary>
public static class CliErrors
{
    /// <summary>Runs a command's body; any exception becomes its message on stderr and its exit code.</summary>
    public static int Run(Func<int> body, KeySpelling spelling)
    {
        try { return body(); }
        catch (Exception e)
        {
            var (code, lines) = Describe(e, spelling);
            foreach (var line in lines) Console.Error.WriteLine("error: " + line);
            return (int)code;
        }
    }

    public static (ExitCode Code, IReadOnlyList<string> Lines) Describe(Exception e, KeySpelling spelling) => e switch
    {
        ConfigException c => (ExitCode.Usage, c.Problems.Select(p => Render(p, spelling)).ToList()),
        TrainingDivergedException => (ExitCode.Diverged, [e.Message]),
        TokenCacheException t => (ExitCode.Failed, [$"{t.Message} (to build one: minigpt prepare --corpus FILE --out {t.Path})"]),
        InvalidUtf8Exception => (ExitCode.Failed, [$"{e.Message} (minigpt prepare --replace-invalid-utf8 replaces invalid bytes with U+FFFD)"]),
        MiniGptException => (ExitCode.Failed, [e.Message]),
        IOException or UnauthorizedAccessException => (ExitCode.Failed, [e.Message]),
        _ => (ExitCode.Failed, Unexpected(e)),
    };

    /// <summary>A problem with the key spelled as the user typed it: as a config key when it came from a file.</summary>
    public static string Render(ConfigProblem p, KeySpelling spelling)
    {
        if (spelling == KeySpelling.ConfigKeys || p.Key is null || p.Origin is not null) return p.ToString();
        var flag = Flag(p.Key);
        return p.Value is null ? $"{flag}: {p.Rule}" : $"{flag} {p.Value}: {p.Rule}";
    }

    /// <summary>A key's command-line flag: top_k is --top-k.</summary>
    public static string Flag(string key) => "--" + key.Replace('_', '-');

    // Not bad input but a bug: one line still, and the stack trace only when asked for.
    static IReadOnlyList<string> Unexpected(Exception e)
        => Environment.GetEnvironmentVariable("MINIGPT_TRACE") is "1"
            ? [$"internal error: {e}"]
            : [$"internal error: {e.GetType().Name}: {e.Message} (MINIGPT_TRACE=1 prints the stack trace)"];
}
