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

    [Theory]
    [InlineData(new byte[] { 0x61, 0x62, 0xFF, 0x63 }, 2)]             // a byte no UTF-8 has
    [InlineData(new byte[] { 0xFF, 0xFE, 0x61, 0x00 }, 0)]             // UTF-16's byte-order mark: read as 'a' before, silently
    [InlineData(new byte[] { 0x61, 0xE2, 0x82 }, 1)]                   // a character the file ends inside
    public void BytesThatAreNotUtf8_AreADataError_WithTheirOffset(byte[] bytes, long offset)
    {
        // The prompt or text to evaluate came back with U+FFFD, or as UTF-16, and was reported as unknown characters.
        using var dir = new TempDir();
        var path = dir.File("t.txt");
        File.WriteAllBytes(path, bytes);
        var ex = Assert.Throws<DataException>(() => TextFile.Read(path, 100, "a test file"));
        Assert.Equal($"{path}: invalid UTF-8 at byte offset {offset}", ex.Message);
    }

    [Fact]
    public void AnInvalidByteFarIn_IsFoundAtItsOffset_AndCharactersCutByReadsAreWhole()
    {
        using var dir = new TempDir();
        var path = dir.File("t.txt");
        var text = string.Concat(Enumerable.Repeat("é€😀a", 20_000));   // 2, 3, 4 and 1 bytes: reads end inside characters
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        File.WriteAllBytes(path, bytes);
        Assert.Equal(text, TextFile.Read(path, text.Length, "a test file"));
        File.WriteAllBytes(path, [.. bytes, 0x80]);
        Assert.Equal($"{path}: invalid UTF-8 at byte offset {bytes.Length}", Assert.Throws<DataException>(() => TextFile.Read(path, text.Length, "a test file")).Message);
    }

    [Fact]
    public void AUtf8ByteOrderMark_IsDropped_AndNotCounted()
    {
        using var dir = new TempDir();
        var path = dir.File("t.txt");
        File.WriteAllBytes(path, [0xEF, 0xBB, 0xBF, .. "abc"u8]);
        Assert.Equal("abc", TextFile.Read(path, 3, "a test file"));
    }
}
