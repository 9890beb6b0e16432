using MiniGpt.IO;
using MiniGpt.Tests.TestSupport;

namespace MiniGpt.Tests.IO;

public class FileBytesTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(10)]
    [InlineData(200_000)]   // more than the first buffer, which a file's size sets
    public void AFileUpToTheLimit_IsReadWhole(int length)
    {
        using var dir = new TempDir();
        var bytes = Enumerable.Range(0, length).Select(i => (byte)(i * 31)).ToArray();
        var path = dir.File("b.bin");
        File.WriteAllBytes(path, bytes);
        Assert.Equal(bytes, FileBytes.Read(path, length));
    }

    [Fact]
    public void OneByteMore_IsNull()
    {
        using var dir = new TempDir();
        var path = dir.File("b.bin");
        File.WriteAllBytes(path, new byte[6]);
        Assert.Null(FileBytes.Read(path, 5));
    }

    [Fact]
    public void AFileThatSaysItIsEmpty_ButNeverEnds_IsReadOnlyToTheLimit()
    {
        // /dev/zero's size is 0 and it has no end: File.ReadAllBytes read it until memory ran out.
        Assert.Null(FileBytes.Read("/dev/zero", 1 << 20));
    }
}
