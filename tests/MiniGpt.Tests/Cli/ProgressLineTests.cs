using MiniGpt.Cli.Commands;

namespace MiniGpt.Tests.Cli;

public class ProgressLineTests
{
    [Fact]
    public void HalfOfAHundredMegabytesInFiveSeconds_IsTenMBPerSecond_AndFiveSecondsToGo()
    {
        Assert.Equal("encode [###############               ]  50.0%  50.0/100.0 MB  10.0 MB/s  ETA 00:00:05  1,234 documents",
            ProgressLine.Format("encode", 50_000_000, 100_000_000, 5.0, bar: true, "1,234 documents"));
        Assert.Equal("downloading model.safetensors  25.0%  137.0/548.0 MB  2.0 MB/s  ETA 00:03:25",
            ProgressLine.Format("downloading model.safetensors", 137_000_000, 548_000_000, 68.5, bar: false));
    }

    [Fact]
    public void TheFirstMoments_ShowNoRate()
        => Assert.Equal("encode   3.8%  4.2/110.0 MB  -- MB/s  ETA --:--:--", ProgressLine.Format("encode", 4_200_000, 110_000_000, 0.001, bar: false));

    [Fact]
    public void AnUnknownTotal_HasNoShareAndNoEta()
        => Assert.Equal("scan   0.0%  1.0/0.0 MB  1.0 MB/s  ETA --:--:--", ProgressLine.Format("scan", 1_000_000, 0, 1.0, bar: false));

    [Fact]
    public void AnEtaOfMoreThanADay_ShowsItsDays()
    {
        // 1.8 GB at 1 kB/s: 20 days, 19 hours and 59 minutes and some to go, not "19:59:…"
        Assert.Equal("scan   0.0%  0.0/1800.0 MB  0.0 MB/s  ETA 20d 19:59:59", ProgressLine.Format("scan", 1_000, 1_800_000_000, 1.0, bar: false));
        Assert.Equal("00:00:00", ProgressLine.Duration(TimeSpan.Zero));
        Assert.Equal("1d 00:00:00", ProgressLine.Duration(TimeSpan.FromHours(24)));
        // 100 bytes in 10,000 s of 10 GB: 31,700 years, beyond a TimeSpan; no ETA rather than an overflow
        Assert.Equal("download   0.0%  0.0/10000.0 MB  0.0 MB/s  ETA --:--:--", ProgressLine.Format("download", 100, 10_000_000_000, 10_000.0, bar: false));
    }
}
