using System.Diagnostics;

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
        double left = rate > 0 && total > 0 ? Math.Max(0, total - done) / 1e6 / rate : double.PositiveInfinity;
        return $"{what} {(bar ? Bar(share) : "")}{share * 100,5:F1}%  {done / 1e6:F1}/{total / 1e6:F1} MB  {(rate > 0 ? rate.ToString("F1") : "--")} MB/s  ETA {Eta(left)}" + (extra is null ? "" : "  " + extra);
    }

    /// <summary>"[####      ] ": thirty places, one per share of 1/30 done.</summary>
    public static string Bar(double share) => "[" + new string('#', (int)(share * 30)).PadRight(30) + "] ";

    /// <summary>The time left, or "--:--:--" past 10,000 days (a first trickle can promise millennia, past what a TimeSpan holds).</summary>
    public static string Eta(double secondsLeft) => secondsLeft < 1e4 * 86400 ? Duration(TimeSpan.FromSeconds(secondsLeft)) : "--:--:--";

    /// <summary>hh:mm:ss, with the days before it from one day on ("18d 04:11:51"): hh alone wraps every 24 hours.</summary>
    public static string Duration(TimeSpan t) => (t.Days > 0 ? $"{t.Days}d " : "") + t.ToString(@"hh\:mm\:ss");
}

/// <summary>
/// Where a progress line goes: on a terminal, rewritten in place at most ten times a second (and always when its
/// work is done); when redirected, a line per 10 %, from the first second on. <see cref="End"/> ends a line left open.
/// </summary>
public sealed class ProgressOutput(TextWriter error, bool live)
{
    readonly Stopwatch clock = Stopwatch.StartNew();
    double lastDraw = double.NegativeInfinity;
    int lastDecile = -1;
    bool open;   // a bar drawn on a terminal, its line not yet ended

    public bool Live => live;

    /// <summary>Seconds since this output was made.</summary>
    public double Seconds => clock.Elapsed.TotalSeconds;

    /// <summary>Ends the line of the work before, so that the next report is drawn on a line of its own.</summary>
    public void Restart()
    {
        End();
        lastDecile = -1;
    }

    /// <summary>Whether a report of <paramref name="done"/> of <paramref name="total"/> is drawn now; if so, draw it with <see cref="Draw"/>.</summary>
    public bool Due(long done, long total)
    {
        double now = Seconds;
        int decile = total <= 0 ? 10 : (int)(10 * Math.Clamp(done, 0, total) / total);
        if (live ? now - lastDraw < 0.1 && done < total : decile == lastDecile || now < 1) return false;
        (lastDecile, lastDraw) = (decile, now);
        return true;
    }

    public void Draw(string line)
    {
        if (!live) { error.WriteLine(line); return; }
        error.Write("\r" + line);
        open = true;
    }

    /// <summary>Ends a bar's line, if one is open.</summary>
    public void End()
    {
        if (open) error.WriteLine();
        open = false;
    }
}
