using MiniGpt.Cli.Commands;
using MiniGpt.Data;

namespace MiniGpt.Tests.Cli;

/// <summary>Progress on a terminal (prepare's, downloads', training's): a line rewritten in place, ended before anything else is said.</summary>
public class ProgressBarTests
{
    [Fact]
    public void OnATerminal_ABarLeftOpen_IsEndedOnce()
    {
        var err = new StringWriter();
        var progress = new PrepareCommand.ConsoleProgress(err, live: true);
        progress.Report(new PrepareProgress(PreparePhase.Scan, 0, 0));   // a scan that found nothing: an error follows
        Assert.StartsWith("\rscan [", err.ToString());
        Assert.DoesNotContain("\n", err.ToString());
        progress.End();
        progress.End();
        Assert.Equal(1, err.ToString().Count(c => c == '\n'));
        Assert.EndsWith("\n", err.ToString());
    }

    [Fact]
    public void OnATerminal_TheFinishedEncodeEndsItsOwnLine_AndEachPassHasOne()
    {
        var err = new StringWriter();
        var progress = new PrepareCommand.ConsoleProgress(err, live: true);
        progress.Report(new PrepareProgress(PreparePhase.Scan, 10, 10));
        progress.Report(new PrepareProgress(PreparePhase.Encode, 10, 10, Documents: 3));
        progress.End();
        var lines = err.ToString().Split('\n');
        Assert.Equal(3, lines.Length);   // scan's line, encode's line, nothing after the last '\n'
        Assert.StartsWith("\rscan [", lines[0]);
        Assert.StartsWith("\rencode [", lines[1]);
        Assert.EndsWith("3 documents", lines[1]);
        Assert.Equal("", lines[2]);
    }

    [Fact]
    public void EvalOnATerminal_ShowsItsBatches_AndEndsItsLineOnce()
    {
        // A checkpoint's eval_iters may be 2^31 − 1: eval's batches show as they go, not after.
        var err = new StringWriter();
        var progress = new EvalCommand.BatchProgress(err, live: true, total: 4);
        progress.Report(1);
        Assert.StartsWith("\reval [#######                       ]  25.0%  1/4 batches  ETA ", err.ToString());
        progress.Report(4);   // the last is drawn however soon it comes
        Assert.Contains("\reval [##############################] 100.0%  4/4 batches  ETA 00:00:00", err.ToString());
        progress.End();
        progress.End();
        Assert.Equal(1, err.ToString().Count(c => c == '\n'));

        var redirected = new StringWriter();
        var quiet = new EvalCommand.BatchProgress(redirected, live: false, total: 4);
        for (int i = 1; i <= 4; i++) quiet.Report(i);   // all within the first second: nothing to say
        quiet.End();
        Assert.Equal("", redirected.ToString());
    }

    [Fact]
    public void Redirected_NothingIsLeftOpen()
    {
        var err = new StringWriter();
        var progress = new PrepareCommand.ConsoleProgress(err, live: false);
        progress.Report(new PrepareProgress(PreparePhase.Scan, 0, 0));   // within the first second: not shown
        progress.End();
        Assert.Equal("", err.ToString());
    }

    [Fact]
    public void OnATerminal_ADownloadThatStops_HasItsLineEnded_AndAFinishedOneNoSecondEnd()
    {
        var err = new StringWriter();
        using (var downloads = new Downloads(err, live: true))
            downloads.Report(new MiniGpt.Hub.DownloadProgress("model.safetensors", 1_000, 548_000_000));   // then the download fails
        Assert.StartsWith("\rdownloading model.safetensors [", err.ToString());
        Assert.Equal(1, err.ToString().Count(c => c == '\n'));
        Assert.EndsWith("\n", err.ToString());

        var done = new StringWriter();
        using (var downloads = new Downloads(done, live: true))
            downloads.Report(new MiniGpt.Hub.DownloadProgress("config.json", 500, 500));
        Assert.Equal(1, done.ToString().Count(c => c == '\n'));
    }

    [Fact]
    public void OnATerminal_TrainingThatStops_HasItsStatusLineEnded()
    {
        var output = new StringWriter();
        using (var console = new MiniGpt.Cli.Hosting.TrainConsole(new MiniGpt.Config.TrainConfig(), output, live: true))
            console.Report(new MiniGpt.Training.StepDone(10, 2000, 3.5, 1e-3, 0.9, 60, 12_000, 0, TimeSpan.FromMinutes(2)));   // then an error
        Assert.StartsWith("\riter     10/2000  loss 3.5000", output.ToString());
        Assert.Equal(1, output.ToString().Count(c => c == '\n'));
        Assert.EndsWith("\n", output.ToString());
    }
}
