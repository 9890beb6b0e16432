namespace MiniGpt.Cli.Commands;

/// <summary>One line of progress through bytes, as downloads and prepare show it: a bar on a terminal, the same words without it elsewhere.</summary>
public static class ProgressLine
{
    /// <param name="seconds">Time spent so far on these bytes, for the rate and the ETA.</param>
    /// <param name="extra">More to say, after the figures (documents read, say).</param>
    public static string Format(string what, long done, long total, double seconds, bool bar, string? extra = null)
    {
        // Under a quarter of a second, a rate mostly measures how far ahead the reader buffers: none is shown.
        double share = total > 0 ? Math.Clamp((double)done / total, 0, 1) : 0, rate = seconds >= 0.25 ? done / 1e6 / seconds : 0;
        // A first trickle of bytes can promise millennia, past what a TimeSpan holds: no ETA beyond 10,000 days.
        double left = rate > 0 && total > 0 ? Math.Max(0, total - done) / 1e6 / rate : double.PositiveInfinity;
        string eta = left < 1e4 * 86400 ? Duration(TimeSpan.FromSeconds(left)) : "--:--:--";
        string drawn = bar ? "[" + new string('#', (int)(share * 30)).PadRight(30) + "] " : "";
        return $"{what} {drawn}{share * 100,5:F1}%  {done / 1e6:F1}/{total / 1e6:F1} MB  {(rate > 0 ? rate.ToString("F1") : "--")} MB/s  ETA {eta}" + (extra is null ? "" : "  " + extra);
    }

    /// <summary>hh:mm:ss, with the days before it from one day on ("18d 04:11:51"): hh alone wraps every 24 hours.</summary>
    public static string Duration(TimeSpan t) => (t.Days > 0 ? $"{t.Days}d " : "") + t.ToString(@"hh\:mm\:ss");
}
