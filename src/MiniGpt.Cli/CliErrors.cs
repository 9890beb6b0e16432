using System.CommandLine;
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

/// <summary>
/// The one place that turns what went wrong into an exit code and an error message. The library's typed
/// exceptions carry keys, values and files; only here do they meet the command line's spelling and hints.
/// </summary>
public static class CliErrors
{
    /// <summary>Runs a command's body; any exception becomes its message on stderr and its exit code.</summary>
    /// <param name="options">The command's options: a problem with a key one of them sets is spelled as that flag.</param>
    /// <param name="holds">What the command holds in memory that can be too large, for an out-of-memory error's hint.</param>
    public static int Run(Func<int> body, IEnumerable<Option> options, string holds = TrainingHolds)
    {
        try { return body(); }
        catch (Exception e)
        {
            var (code, lines) = Describe(e, FlagsByKey(options), holds);
            foreach (var line in lines) Console.Error.WriteLine("error: " + line);
            return (int)code;
        }
    }

    /// <summary>--top-k sets top_k: each option under the key it sets.</summary>
    public static IReadOnlyDictionary<string, string> FlagsByKey(IEnumerable<Option> options)
        => options.Where(o => o.Name.StartsWith("--")).ToDictionary(o => o.Name[2..].Replace('-', '_'), o => o.Name);

    /// <summary>What training, sampling and evaluating hold: a batch, a block, a model.</summary>
    public const string TrainingHolds = "a smaller batch_size, block_size or model needs less";

    /// <summary>What prepare holds whole, whatever the size of the corpus.</summary>
    public const string PrepareHolds = "prepare holds a corpus's longest JSON line, Parquet row group, or run of text with no space or line break to cut it at, whole";

    /// <param name="flags">The command's flags by the key each sets (<see cref="FlagsByKey"/>).</param>
    /// <param name="holds">The out-of-memory hint (<see cref="Run"/>).</param>
    public static (ExitCode Code, IReadOnlyList<string> Lines) Describe(Exception e, IReadOnlyDictionary<string, string> flags, string holds = TrainingHolds) => e switch
    {
        ConfigException c => (ExitCode.Usage, c.Problems.Select(p => Render(p, flags)).ToList()),
        TrainingDivergedException => (ExitCode.Diverged, [e.Message]),
        OtherDataException => (ExitCode.Failed, [$"{e.Message} (--accept-other-data resumes on it knowingly)"]),
        RunExistsException => (ExitCode.Usage, [$"{e.Message}; continue it with --resume, start over with --overwrite, or choose another out_dir"]),
        TokenCacheException { Missing: true } t => (ExitCode.Failed, [$"{t.Message} (to build one: minigpt prepare --corpus FILE --out {t.Path})"]),
        TokenCacheException t => (ExitCode.Failed, [$"{t.Message} (to build it again: minigpt prepare --corpus FILE --out {t.Path})"]),
        InvalidUtf8Exception => (ExitCode.Failed, [$"{e.Message} (minigpt prepare --replace-invalid-utf8 replaces invalid bytes with U+FFFD)"]),
        BadDocumentException => (ExitCode.Failed, [$"{e.Message} (minigpt prepare --skip-bad-documents skips such documents and counts them)"]),
        MiniGptException => (ExitCode.Failed, [e.Message]),
        IOException or UnauthorizedAccessException => (ExitCode.Failed, [e.Message]),
        // Not a bug but a size: what the command holds whole (a batch, a block, a model; a corpus's longest line) larger
        // than memory (what a config allows is checked only for the weights).
        OutOfMemoryException or System.Runtime.InteropServices.ExternalException when OutOfMemory(e) is { } what =>
            (ExitCode.Failed, [$"out of memory: {what} ({holds})"]),
        NativeLoadException n => (ExitCode.Failed, Environment.GetEnvironmentVariable("MINIGPT_TRACE") is "1" ? [NativeLoad(n), .. n.Trace.TrimEnd().Split('\n')] : [NativeLoad(n)]),
        DllNotFoundException => (ExitCode.Failed, [NativeLoad(e)]),
        TypeInitializationException t when t.TypeName?.StartsWith("TorchSharp") == true => (ExitCode.Failed, [NativeLoad(e)]),
        _ => (ExitCode.Failed, Unexpected(e)),
    };

    /// <summary>
    /// A problem with its key spelled as the user gave it: as the command's flag when one of its options sets the
    /// key and the value did not come from a file, otherwise as a config key.
    /// </summary>
    public static string Render(ConfigProblem p, IReadOnlyDictionary<string, string> flags)
    {
        if (p.Key is null || p.Origin is not null || !flags.TryGetValue(p.Key, out var flag)) return p.ToString();
        return p.Value is null ? $"{flag}: {p.Rule}" : $"{flag} {p.Value}: {p.Rule}";
    }

    /// <summary>libtorch did not load: TorchSharp 0.107 binds libtorch 2.10's C++ operations by their exact signatures.</summary>
    static string NativeLoad(Exception e)
    {
        var inner = e;
        while (inner.InnerException is { } next) inner = next;
        return $"cannot load libtorch ({inner.Message.Split('\n')[0].TrimEnd()}); MiniGpt needs libtorch 2.10: the TorchSharp-cpu package " +
               "(the default build), or PyTorch 2.10 built with the C++11 ABI through scripts/minigpt-gpu.sh (MINIGPT_TRACE=1 shows TorchSharp's load trace)";
    }

    /// <summary>What ran out, when <paramref name="e"/> is .NET's or libtorch's out-of-memory error: libtorch's names the bytes it asked for.</summary>
    static string? OutOfMemory(Exception e)
    {
        var first = e.Message.Split('\n')[0].TrimEnd();
        if (e is OutOfMemoryException) return first;
        int at = first.IndexOf("can't allocate memory", StringComparison.Ordinal) is var i and >= 0 ? i : first.IndexOf("out of memory", StringComparison.OrdinalIgnoreCase);
        return at >= 0 ? first[at..] : null;
    }

    // Not bad input but a bug: one line still (native errors append libtorch's own frames, so only the first
    // line of the message), and the stack trace only when asked for.
    static IReadOnlyList<string> Unexpected(Exception e)
        => Environment.GetEnvironmentVariable("MINIGPT_TRACE") is "1"
            ? [$"internal error: {e}"]
            : [$"internal error: {e.GetType().Name}: {e.Message.Split('\n')[0].TrimEnd()} (MINIGPT_TRACE=1 prints the stack trace)"];
}
