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
        TrainedRun(dir, "good");
        var broken = TrainedRun(dir, "broken");
        var last = Path.Combine(broken, "last.ckpt");
        File.WriteAllBytes(last, File.ReadAllBytes(last)[..100]);
        Directory.Delete(Path.Combine(dir.Path, "cache"), recursive: true);           // not a run: must not be listed
        var (code, stdout, stderr) = CliProcess.Run(dir.Path, "runs", ".");
        Assert.True(code == 0, stderr);
        Assert.Contains("good", stdout);
        Assert.Contains("broken", stdout);
        Assert.Contains("truncated", stdout);
        Assert.Contains("20", stdout);
        Assert.Contains("char / ", stdout);
    }
}
