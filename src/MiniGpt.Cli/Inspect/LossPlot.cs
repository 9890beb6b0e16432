using MiniGpt.Logs;
using ScottPlot;

namespace MiniGpt.Cli.Inspect;

/// <summary>What to draw: runs overlaid, tags per run, TensorBoard-style smoothing, optional lr axis and log scale.</summary>
public sealed record PlotRequest(IReadOnlyList<string> Runs, IReadOnlyList<string> Tags, string Out, double Smoothing,
    bool LearningRate, bool LogScale, int Width = 1000, int Height = 600);

/// <summary>Loss curves from TensorBoard event files, drawn with ScottPlot into a PNG or SVG.</summary>
public static class LossPlot
{
    public const int SparseLimit = 20;

    public static void Render(PlotRequest r)
    {
        var logs = r.Runs.Select(EventLog.Read).ToList();
        foreach (var log in logs)
            foreach (var e in log.Errors) Console.Error.WriteLine($"warning: {e}");
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        // SkiaSharp's SVG canvas cannot write dash effects (it emits text that is not XML), so SVG lines stay solid.
        bool svg = r.Out.EndsWith(".svg", StringComparison.OrdinalIgnoreCase);
        int drawn = 0;
        for (int i = 0; i < logs.Count; i++)
        {
            var color = palette.GetColor(i);
            string name = RunName(logs[i].Dir);
            for (int j = 0; j < r.Tags.Count; j++)
            {
                var (points, dropped) = Drawable(logs[i].Series(r.Tags[j]), r.LogScale);
                if (dropped > 0)
                    Console.Error.WriteLine($"warning: {name} {r.Tags[j]}: {dropped} point{(dropped == 1 ? "" : "s")} left out, {(r.LogScale ? "not finite or not above 0 (log scale)" : "not finite (NaN or infinite)")}");
                if (points.Count == 0) continue;
                double[] xs = points.Select(p => (double)p.Step).ToArray();
                double[] raw = points.Select(p => p.Value).ToArray();
                // A sparse series (evaluations) is drawn as measured: an EMA over a handful of points lags far behind.
                bool smoothed = r.Smoothing > 0 && points.Count > SparseLimit;
                double[] smooth = smoothed ? Smoothing.Ema(raw, r.Smoothing) : raw;
                if (r.LogScale) { raw = raw.Select(Math.Log10).ToArray(); smooth = smooth.Select(Math.Log10).ToArray(); }
                var pattern = svg || j == 0 ? LinePattern.Solid : j == 1 ? LinePattern.Dashed : LinePattern.Dotted;
                if (smoothed)
                {
                    var faint = plot.Add.Scatter(xs, raw);
                    faint.Color = color.WithOpacity(0.25);
                    faint.MarkerSize = 0;
                    faint.LineWidth = 1;
                    faint.LinePattern = pattern;
                }
                var line = plot.Add.Scatter(xs, smooth);
                line.Color = color;
                line.MarkerSize = points.Count <= SparseLimit ? 5 : 0;
                line.LineWidth = 2;
                line.LinePattern = pattern;
                line.LegendText = logs.Count > 1 ? $"{name} {r.Tags[j]}" : r.Tags[j];
                drawn++;
            }
            if (r.LearningRate && Drawable(logs[i].Series("lr"), logScale: false).Points is { Count: > 0 } lr)
            {
                var lrLine = plot.Add.Scatter(lr.Select(p => (double)p.Step).ToArray(), lr.Select(p => p.Value).ToArray());
                lrLine.Axes.YAxis = plot.Axes.Right;
                lrLine.Color = color.WithOpacity(0.6);
                lrLine.MarkerSize = 0;
                lrLine.LinePattern = svg ? LinePattern.Solid : LinePattern.DenselyDashed;
                lrLine.LegendText = logs.Count > 1 ? $"{name} lr" : "lr";
            }
        }
        if (drawn == 0)
            throw new DataException(r.Runs[0], $"no scalars for {string.Join(", ", r.Tags)} in {string.Join(", ", r.Runs)}; " +
                $"tags present: {string.Join(", ", logs.SelectMany(l => l.Scalars.Keys).Distinct().Order().DefaultIfEmpty("none"))}");
        plot.Title(logs.Count == 1 ? $"{RunName(logs[0].Dir)}: loss" : "loss");
        plot.XLabel("step");
        plot.YLabel(r.LogScale ? "loss (nats/token, log scale)" : "loss (nats/token)");
        if (r.LogScale)
            plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = y => $"{Math.Pow(10, y):0.###}" };
        if (r.LearningRate) plot.Axes.Right.Label.Text = "learning rate";
        plot.ShowLegend(Alignment.UpperRight);
        var dir = Path.GetDirectoryName(Path.GetFullPath(r.Out))!;
        if (File.Exists(dir)) throw new DataException(r.Out, $"{dir} is a file, not a folder for {Path.GetFileName(r.Out)}");
        // Beside it, then renamed over it: on a full disk the last good plot stays whole rather than cut short.
        MiniGpt.IO.AtomicFile.WriteVia(r.Out, tmp => { if (svg) plot.SaveSvg(tmp, r.Width, r.Height); else plot.SavePng(tmp, r.Width, r.Height); });
    }

    /// <summary>
    /// The points a chart can draw, and how many it cannot: one infinite value set the axes to nothing (a blank chart),
    /// a NaN cut the smoothed line off from its step, and on a log scale a value of 0 or less has no place.
    /// </summary>
    public static (IReadOnlyList<ScalarPoint> Points, int Dropped) Drawable(IReadOnlyList<ScalarPoint> points, bool logScale)
    {
        var kept = points.Where(p => double.IsFinite(p.Value) && (!logScale || p.Value > 0)).ToList();
        return (kept, points.Count - kept.Count);
    }

    public static string RunName(string dir) => Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir)));
}
