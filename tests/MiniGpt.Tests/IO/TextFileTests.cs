using MiniGpt.IO;
using MiniGpt.Tests.TestSupport;

namespace MiniGpt.Tests.IO;

public class TextFileTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(10)]
    [InlineData(100_000)]   // more than the first buffer, which a file's size sets
    public void AFileUpToTheLimit_IsReadWhole(int chars)
    {
        using var dir = new TempDir();
        var text = string.Concat(Enumerable.Range(0, chars).Select(i => i % 7 == 0 ? "é" : "a"));
        Assert.Equal(text, TextFile.Read(dir.File("t.txt", text), chars, "a test file"));
    }

    [Fact]
    public void OneCharacterMore_IsADataError_NamingTheFile()
    {
        using var dir = new TempDir();
        var path = dir.File("t.txt", "abcdef");
        var ex = Assert.Throws<DataException>(() => TextFile.Read(path, 5, "a test file"));
        Assert.Equal((path, $"{path}: more than 5 characters, more than a test file may have"), (ex.Path, ex.Message));
    }

    [Fact]
    public void AFileThatSaysItIsEmpty_ButNeverEnds_IsReadOnlyToTheLimit()
    {
        // /dev/zero's size is 0 and it has no end: File.ReadAllText read it until memory ran out.
        var ex = Assert.Throws<DataException>(() => TextFile.Read("/dev/zero", 1 << 20, "a prompt file"));
        Assert.Equal("/dev/zero: more than 1,048,576 characters, more than a prompt file may have", ex.Message);
    }
}
