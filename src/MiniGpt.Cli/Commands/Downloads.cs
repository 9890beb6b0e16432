using MiniGpt.Hub;

namespace MiniGpt.Cli.Commands;

/// <summary>
/// The hub settings of this process (HF_ENDPOINT, HF_HOME, HF_HUB_CACHE, HF_HUB_OFFLINE, as huggingface_hub
/// reads them), and download progress on stderr: a bar rewritten in place on a terminal, a plain line every
/// few seconds when redirected.
/// </summary>
public sealed class Downloads : IProgress<DownloadProgress>
{
    /// <summary>The settings, read only when <paramref name="model"/> names a model of the hub, so that a bad HF_ENDPOINT
    /// troubles no command that would not download.</summary>
    public static HubOptions? OptionsFor(string model)
        => PretrainedModels.TryGetRepo(model, out _)
            ? HubOptions.FromEnvironment(Environment.GetEnvironmentVariable, Environment.GetFolderPath(Environment.SpecialFolder.UserProfile))
            : null;

    readonly bool live = !Console.IsErrorRedirected;
    readonly System.Diagnostics.Stopwatch clock = System.Diagnostics.Stopwatch.StartNew();
    string? file;
    double lastLine = double.NegativeInfinity, fileStart;

    public void Report(DownloadProgress p)
    {
        if (p.File != file)
        {
            if (live && file is not null) Console.Error.WriteLine();
            (file, fileStart, lastLine) = (p.File, clock.Elapsed.TotalSeconds, double.NegativeInfinity);
        }
        double now = clock.Elapsed.TotalSeconds, rate = p.Received / 1e6 / Math.Max(now - fileStart, 1e-3);
        bool done = p.Total > 0 && p.Received >= p.Total;
        if (!live && !done && now - lastLine < 5) return;
        lastLine = now;
        double share = p.Total > 0 ? Math.Clamp((double)p.Received / p.Total, 0, 1) : 0;
        string eta = rate > 0 && p.Total > 0 ? TimeSpan.FromSeconds((p.Total - p.Received) / 1e6 / rate).ToString(@"hh\:mm\:ss") : "--:--:--";
        string bar = live ? "[" + new string('#', (int)(share * 30)).PadRight(30) + "] " : "";
        var line = $"downloading {p.File} {bar}{share * 100,5:F1}%  {p.Received / 1e6:F1}/{p.Total / 1e6:F1} MB  {rate:F1} MB/s  ETA {eta}";
        if (live) Console.Error.Write("\r" + line);
        else Console.Error.WriteLine(line);
        if (live && done) { Console.Error.WriteLine(); file = null; }
    }
}
