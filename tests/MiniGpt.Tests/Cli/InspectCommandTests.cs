using MiniGpt.Checkpoints;
using MiniGpt.Tests.TestSupport;
using MiniGpt.Training;

namespace MiniGpt.Tests.Cli;

public class InspectCommandTests
{
    static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    static string TrainedRun(TempDir dir, string name)
    {
        var c = TinyRun.Config(dir, name) with { MaxIters = 20, LogInterval = 1 };
        using (var t = new Trainer(c)) t.Run();
        return c.OutDir;
    }

    [Fact]
    public void Plot_WritesAPng_ForOneRunAndForTwo()
    {
        using var dir = new TempDir();
        var a = TrainedRun(dir, "a");
        var b = TrainedRun(dir, "b");
        foreach (var args in new[] { new[] { "--run", a }, new[] { "--run", a, "--run", b, "--lr" } })
        {
            var png = Path.Combine(dir.Path, $"plot{args.Length}.png");
            var (code, _, stderr) = CliProcess.Run(dir.Path, ["plot", .. args, "--out", png]);
            Assert.True(code == 0, stderr);
            var bytes = File.ReadAllBytes(png);
            Assert.Equal(PngSignature, bytes[..8]);
            Assert.True(bytes.Length > 10_000, $"the PNG has only {bytes.Length} bytes");
        }
    }

    [Fact]
    public void Plot_WritesWellFormedSvg()
    {
        using var dir = new TempDir();
        var a = TrainedRun(dir, "a");
        var svg = Path.Combine(dir.Path, "loss.svg");
        var (code, _, stderr) = CliProcess.Run(dir.Path, "plot", "--run", a, "--lr", "--out", svg);
        Assert.True(code == 0, stderr);
        var doc = System.Xml.Linq.XDocument.Load(svg);                 // throws if the file is not XML
        Assert.Equal("svg", doc.Root!.Name.LocalName);
        Assert.True(doc.Descendants().Count() > 50, "the SVG holds almost nothing");
    }

    [Fact]
    public void Plot_ReplacesAnOldPlotWhole_NeverWritingIntoIt()
    {
        // Written in place, the old plot was cut short on a full disk. A second name for the old file (a hard link, or a
        // reader that has it open) keeps its bytes only if the new plot is a new file renamed over it.
        using var dir = new TempDir();
        var a = TrainedRun(dir, "a");
        var png = dir.File("plots/loss.png", "the old plot");
        using (var ln = System.Diagnostics.Process.Start("ln", [png, Path.Combine(dir.Path, "plots", "kept.png")])) ln.WaitForExit();
        var (code, _, stderr) = CliProcess.Run(dir.Path, "plot", "--run", a, "--out", png);
        Assert.True(code == 0, stderr);
        Assert.Equal(PngSignature, File.ReadAllBytes(png)[..8]);
        Assert.Equal("the old plot", File.ReadAllText(Path.Combine(dir.Path, "plots", "kept.png")));
        Assert.Equal(["kept.png", "loss.png"], Directory.GetFileSystemEntries(Path.Combine(dir.Path, "plots")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var file = dir.File("afile", "");
        (code, _, stderr) = CliProcess.Run(dir.Path, "plot", "--run", a, "--out", Path.Combine(file, "x.png"));
        Assert.Equal((1, $"error: {file} is a file, not a folder for x.png\n"), (code, stderr));
    }

    [Fact]
    public void Plot_LeavesOutPointsItCannotDraw_AndSaysSo()
    {
        // One infinite loss made the chart blank (axes −11…11) and a NaN cut the smoothed line, with exit 0 and no word.
        var points = new[] { 4.0, double.PositiveInfinity, 3.0, double.NaN, 0.0, -1.0, double.NegativeInfinity, 2.0 }
            .Select((v, i) => new MiniGpt.Logs.ScalarPoint(i, v, 0)).ToList();
        var (linear, dropped) = MiniGpt.Cli.Inspect.LossPlot.Drawable(points, logScale: false);
        Assert.Equal([4.0, 3.0, 0.0, -1.0, 2.0], linear.Select(p => p.Value));
        Assert.Equal(3, dropped);
        var (log, droppedLog) = MiniGpt.Cli.Inspect.LossPlot.Drawable(points, logScale: true);
        Assert.Equal([4.0, 3.0, 2.0], log.Select(p => p.Value));
        Assert.Equal(5, droppedLog);

        using var dir = new TempDir();
        var run = Path.Combine(dir.Path, "nan");
        var w = TorchSharp.torch.utils.tensorboard.SummaryWriter(run);
        for (int i = 0; i < points.Count; i++) w.add_scalar("train/loss", (float)points[i].Value, i);
        var png = Path.Combine(dir.Path, "nan.png");
        var (code, _, stderr) = CliProcess.Run(dir.Path, "plot", "--run", run, "--tags", "train/loss", "--out", png);
        Assert.Equal((0, "warning: nan train/loss: 3 points left out, not finite (NaN or infinite)\n"), (code, stderr));
        Assert.Equal(PngSignature, File.ReadAllBytes(png)[..8]);
    }

    [Fact]
    public void Plot_OfARunWithoutScalars_IsAClearError()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(Path.Combine(dir.Path, "empty"));
        var (code, _, stderr) = CliProcess.Run(dir.Path, "plot", "--run", "empty", "--out", "x.png");
        Assert.Equal(1, code);
        Assert.Contains("no scalars for train/loss, val/loss", stderr);
        Assert.False(File.Exists(Path.Combine(dir.Path, "x.png")));
    }

    [Fact]
    public void Runs_ListsEveryRun_EvenBesideABrokenOne()
    {
        using var dir = new TempDir();
        var good = TrainedRun(dir, "good");
        var broken = TrainedRun(dir, "broken");
        // A listing reads each checkpoint's metadata alone, not gigabytes of weights: a damaged weight is for loading to find.
        var goodCkpt = File.ReadAllBytes(Path.Combine(good, "last.ckpt"));
        goodCkpt[^1] ^= 0x10;
        File.WriteAllBytes(Path.Combine(good, "last.ckpt"), goodCkpt);
        var last = Path.Combine(broken, "last.ckpt");
        File.WriteAllBytes(last, File.ReadAllBytes(last)[..100]);
        Directory.Delete(Path.Combine(dir.Path, "cache"), recursive: true);           // not a run: must not be listed
        var (code, stdout, stderr) = CliProcess.Run(dir.Path, "runs", ".");
        Assert.True(code == 0, stderr);
        var rows = stdout.Split('\n').Where(l => l.StartsWith('│')).Select(l => l.Split('│').Select(c => c.Trim()).ToArray()[1..^1]).ToList();
        Assert.Equal(["run", "last step", "best val", "at step", "tokens", "wall time", "tokenizer", "parameters"], rows[0]);
        var best = RunLog.ReadMetrics(Path.Combine(dir.Path, "good")).Where(e => e.Step > 0).MinBy(e => e.ValLoss)!;
        var vocab = Checkpoint.ReadSummary(Path.Combine(dir.Path, "good", "last.ckpt")).VocabSize;
        Assert.Equal(["good", "20", best.ValLoss.ToString("F4"), best.Step.ToString(), "0.00M"], rows.Single(r => r[0] == "good")[..5]);
        Assert.Equal($"char / {vocab}", rows.Single(r => r[0] == "good")[6]);
        int g = rows.FindIndex(r => r[0] == "good");
        Assert.True(g == rows.Count - 1 || rows[g + 1].Skip(1).Any(c => c != ""), "a line of errors under the good run");
        int at = rows.FindIndex(r => r[0] == "broken");                                       // listed, with what it could read,
        var why = string.Join(" ", rows.Skip(at + 1).TakeWhile(r => r.Skip(1).All(c => c == "")).Select(r => r[0]));   // and why not the rest
        Assert.StartsWith("↳ checkpoint ./broken/last.ckpt is unusable: header says", why);
        Assert.Contains("it is truncated or damaged", why);
    }

    [Theory]
    [InlineData(0.0, "0:00:00")]
    [InlineData(3725.9, "1:02:05")]
    [InlineData(108_000.0, "30:00:00")]   // a day and six hours: "h" alone showed 6:00:00
    [InlineData(1e15, "?")]               // logged as elapsed_s, it was TimeSpan's overflow, an internal error
    [InlineData(-1.0, "?")]
    [InlineData(double.NaN, "?")]
    public void Runs_WallTime_IsHoursMinutesSeconds(double seconds, string shown)
        => Assert.Equal(shown, MiniGpt.Cli.Commands.RunsCommand.WallTime(seconds));
}
