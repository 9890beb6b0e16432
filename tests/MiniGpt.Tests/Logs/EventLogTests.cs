using MiniGpt.Logs;
using MiniGpt.Tests.TestSupport;
using TorchSharp;

namespace MiniGpt.Tests.Logs;

public class EventLogTests
{
    static string Write(TempDir dir, string run = "run")
    {
        var path = Path.Combine(dir.Path, run);
        var w = torch.utils.tensorboard.SummaryWriter(path);
        for (int step = 0; step <= 50; step += 10) w.add_scalar("train/loss", 4.0f - step * 0.05f, step);
        w.add_scalar("val/loss", 3.5f, 25);
        w.add_scalar("val/loss", 3.25f, 50);
        w.add_text("sample", "ROMEO: wherefore 😀", 50);
        return path;
    }

    [Fact]
    public void AResumedRun_DropsWhatTheKilledProcessLoggedPastItsCheckpoint()
    {
        // Killed at step 90 with its last checkpoint at 50, then resumed: plot drew the dead curve to 90 beside the new one.
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "run");
        var killed = torch.utils.tensorboard.SummaryWriter(path);
        for (int step = 0; step <= 90; step += 10) killed.add_scalar("train/loss", 9f, step);
        Thread.Sleep(20);   // the files are read in the order of the time in their names
        var resumed = torch.utils.tensorboard.SummaryWriter(path);
        for (int step = 50; step <= 70; step += 10) resumed.add_scalar("train/loss", 1f, step);
        Assert.Equal(2, EventLog.EventFiles(path).Count);
        var series = EventLog.Read(path).Series("train/loss");
        Assert.Equal([0L, 10, 20, 30, 40, 50, 60, 70], series.Select(p => p.Step));
        Assert.Equal([9.0, 9, 9, 9, 9, 1, 1, 1], series.Select(p => p.Value));
    }

    [Fact]
    public void EventsWrittenBySummaryWriter_ReadBackWithTheSameTagsStepsAndValues()
    {
        using var dir = new TempDir();
        var log = EventLog.Read(Write(dir));
        Assert.Empty(log.Errors);
        Assert.Empty(log.Warnings);
        Assert.Equal(["train/loss", "val/loss"], log.Scalars.Keys.Order());
        var train = log.Series("train/loss");
        Assert.Equal([0L, 10, 20, 30, 40, 50], train.Select(p => p.Step));
        Assert.Equal(4.0f - 30 * 0.05f, (float)train[3].Value);
        Assert.Equal([3.5, 3.25], log.Series("val/loss").Select(p => p.Value));
        // The SummaryWriter files text under "<tag>/text_summary", as PyTorch's does.
        Assert.Equal("ROMEO: wherefore 😀", Assert.Single(log.Texts["sample/text_summary"]).Text);
    }

    [Fact]
    public void TruncatedLastRecord_IsSkippedWithAWarning_AndEveryCompleteRecordIsKept()
    {
        using var dir = new TempDir();
        var run = Write(dir);
        var file = EventLog.EventFiles(run).Single();
        int complete = TfRecordReader.Read(file).Records.Count;
        using (var f = new FileStream(file, FileMode.Open)) f.SetLength(f.Length - 5);   // cut into the last record
        var r = TfRecordReader.Read(file);
        Assert.Null(r.Error);
        Assert.Equal(complete - 1, r.Records.Count);
        Assert.Contains("incomplete record", Assert.Single(r.Warnings));
        Assert.Empty(EventLog.Read(run).Texts);                                        // the text event was the last one
        Assert.Equal(6, EventLog.Read(run).Series("train/loss").Count);
    }

    [Fact]
    public void BadCrc_IsReported_NotTrusted()
    {
        using var dir = new TempDir();
        var run = Write(dir);
        var file = EventLog.EventFiles(run).Single();
        var bytes = File.ReadAllBytes(file);
        bytes[^3] ^= 0xFF;                                                             // the last record's payload CRC
        File.WriteAllBytes(file, bytes);
        var log = EventLog.Read(run);
        Assert.Contains("CRC mismatch", Assert.Single(log.Errors));
        Assert.Equal(6, log.Series("train/loss").Count);                              // records before it are kept
    }

    [Fact]
    public void ARecordLengthThatWrapsRound_IsAnIncompleteRecord()
    {
        // 2⁶⁴ − 4 with its CRC right: length + 4 is 0 in 64 bits, and the record looked as if it fit.
        using var dir = new TempDir();
        var header = new byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(header, ulong.MaxValue - 3);
        var crc = BitConverter.GetBytes(TfRecordReader.Mask(MiniGpt.IO.Crc32C.Compute(header)));
        var file = dir.File("events.out.tfevents.1.host");
        File.WriteAllBytes(file, [.. header, .. crc, .. new byte[20]]);
        var r = TfRecordReader.Read(file);
        Assert.Equal((null, 0), (r.Error, r.Records.Count));
        Assert.Equal($"{file}: incomplete record at byte 0 skipped (file still being written?)", Assert.Single(r.Warnings));
    }

    [Fact]
    public void AnEventFileOverTheLimit_IsAnError_NamingIt_NotRead()
    {
        using var dir = new TempDir();
        var file = dir.File("events.out.tfevents.1.host");
        using (var f = new FileStream(file, FileMode.CreateNew)) f.SetLength(TfRecordReader.MaxFileBytes + 1);   // sparse: no room taken
        var r = TfRecordReader.Read(file);
        Assert.Equal($"{file}: 1,073,741,825 bytes, more than the 1,073,741,824 an event file is read up to", r.Error);
    }

    [Fact]
    public void AnEventFileOfNoBytes_HoldsNoRecords_AndIsNotOpened()
    {
        // /dev/zero, through a link, says 0 bytes and was read until memory ran out; a FIFO's open waited for ever.
        using var dir = new TempDir();
        var file = Path.Combine(dir.Path, "events.out.tfevents.1.host");
        File.CreateSymbolicLink(file, "/dev/zero");
        Assert.Equal((null, 0, 0), (TfRecordReader.Read(file).Error, TfRecordReader.Read(file).Records.Count, TfRecordReader.Read(file).Warnings.Count));
        File.Delete(file);
        Fifo.Make(file);
        var r = Fifo.Within(file, () => TfRecordReader.Read(file));
        Assert.Equal((null, 0, 0), (r.Error, r.Records.Count, r.Warnings.Count));
    }


    [Fact]
    public void Mask_MatchesTFRecordsDefinition()
        => Assert.Equal(unchecked(((0x12345678u >> 15) | (0x12345678u << 17)) + 0xa282ead8u), TfRecordReader.Mask(0x12345678u));
}
