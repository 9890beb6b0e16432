using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace MiniGpt.IO;

/// <summary>
/// A UTF-8 text file read whole, up to a limit: File.ReadAllText would read /dev/zero, or a file of gigabytes, until
/// memory ran out. Its bytes must be UTF-8: a reader that guesses (a UTF-16 byte-order mark) or replaces invalid bytes
/// turns a wrong file into text with characters no one wrote. A UTF-8 byte-order mark is dropped.
/// </summary>
public static class TextFile
{
    /// <summary>
    /// The file's text; a <see cref="DataException"/> naming it when it has more than <paramref name="maxChars"/>
    /// characters, or bytes that are not UTF-8 (with the offset of the first).
    /// </summary>
    /// <param name="what">What the file is, for the message ("a prompt file").</param>
    public static string Read(string path, int maxChars, string what)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
        var bytes = new byte[1 << 16];
        var chars = new char[bytes.Length];   // a byte gives at most one UTF-16 char
        var text = new StringBuilder();
        long offset = 0;   // of bytes[0] in the file
        int held = 0;      // bytes of a character the last read cut short
        while (true)
        {
            int n = stream.Read(bytes, held, bytes.Length - held);
            int total = held + n;
            var status = Utf8.ToUtf16(bytes.AsSpan(0, total), chars, out int read, out int written, replaceInvalidSequences: false, isFinalBlock: n == 0);
            text.Append(chars, 0, written);
            if (text.Length - (text.Length > 0 && text[0] == '\uFEFF' ? 1 : 0) > maxChars)
                throw new DataException(path, $"{path}: more than {maxChars:N0} characters, more than {what} may have");
            if (status == OperationStatus.InvalidData) throw new DataException(path, $"{path}: invalid UTF-8 at byte offset {offset + read}");
            held = total - read;
            bytes.AsSpan(read, held).CopyTo(bytes);
            offset += read;
            if (n == 0) break;
        }
        return text.Length > 0 && text[0] == '\uFEFF' ? text.ToString(1, text.Length - 1) : text.ToString();
    }
}
