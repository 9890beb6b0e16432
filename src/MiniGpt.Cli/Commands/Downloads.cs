using MiniGpt.Hub;

namespace MiniGpt.Cli.Commands;

/// <summary>
/// The hub settings of this process (HF_ENDPOINT, HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE, as huggingface_hub
/// reads them), and download progress on stderr: a bar rewritten in place on a terminal, a plain line every
/// few seconds when redirected. Disposed, it ends a bar's line left open (a download that failed), so that the error
/// starts a line of its own.
/// </summary>
public sealed class Downloads(TextWriter error, bool live) : IProgress<DownloadProgress>, IDisposable
{
    public Downloads() : this(Console.Error, live: !Console.IsErrorRedirected) { }

    /// <summary>The settings, read only when <paramref name="model"/> names a model of the hub, so that a bad HF_ENDPOINT
    /// troubles no command that would not download.</summary>
    public static HubOptions? OptionsFor(string model)
        => PretrainedModels.TryGetRepo(model, out _)
            ? HubOptions.FromEnvironment(Environment.GetEnvironmentVariable, Environment.GetFolderPath(Environment.SpecialFolder.UserProfile, Environment.SpecialFolderOption.DoNotVerify))
            : null;

    readonly System.Diagnostics.Stopwatch clock = System.Diagnostics.Stopwatch.StartNew();
    string? file;
    double lastLine = double.NegativeInfinity, fileStart;

    public void Report(DownloadProgress p)
    {
        if (p.File != file)
        {
            if (live && file is not null) error.WriteLine();
            (file, fileStart, lastLine) = (p.File, clock.Elapsed.TotalSeconds, double.NegativeInfinity);
        }
        double now = clock.Elapsed.TotalSeconds;
        bool done = p.Total > 0 && p.Received >= p.Total;
        if (!live && !done && now - lastLine < 5) return;
        lastLine = now;
        var line = ProgressLine.Format($"downloading {p.File}", p.Received, p.Total, now - fileStart, bar: live);
        if (live) error.Write("\r" + line);
        else error.WriteLine(line);
        if (live && done) { error.WriteLine(); file = null; }
    }

    public void Dispose()
    {
        if (live && file is not null) error.WriteLine();
        file = null;
    }
}
