using MiniGpt.IO;
using MiniGpt.Tests.TestSupport;

namespace MiniGpt.Tests.IO;

public class AtomicFileTests
{
    [Fact]
    public void WriteVia_ReplacesTheFileWhole_AndAFailedWriteLeavesTheOldOneAndNoTemporaryFile()
    {
        using var dir = new TempDir();
        var path = dir.File("plot.png", "the old plot");
        AtomicFile.WriteVia(path, tmp => File.WriteAllText(tmp, "the new plot"));
        Assert.Equal("the new plot", File.ReadAllText(path));
        // A writer that fails half way (a full disk): the file is as it was, and nothing is left beside it.
        Assert.Throws<IOException>(() => AtomicFile.WriteVia(path, tmp => { File.WriteAllText(tmp, "half a"); throw new IOException("No space left on device"); }));
        Assert.Equal("the new plot", File.ReadAllText(path));
        Assert.Equal(["plot.png"], Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData(250, "a")]
    [InlineData(120, "é")]   // two bytes each: 240 of the 255 a name may have
    public void ATargetOfALongName_IsWritten_AndItsLeftoversFound(int count, string letter)
    {
        // Its temporary name was the target's and 39 bytes more: past 255, neither plot nor export could write it.
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, string.Concat(Enumerable.Repeat(letter, count)) + ".png");
        AtomicFile.WriteAllText(path, "the plot");
        Assert.Equal("the plot", File.ReadAllText(path));
        Assert.Empty(AtomicFile.Leftovers(path));
        var leftover = Path.Combine(dir.Path, AtomicFile.TempName(path));
        File.WriteAllText(leftover, "killed half way");
        Assert.Equal([leftover], AtomicFile.Leftovers(path));
        Assert.Single(Directory.GetFiles(dir.Path), f => f != leftover);
    }
}
