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
}
