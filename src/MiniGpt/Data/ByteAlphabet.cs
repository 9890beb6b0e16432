namespace MiniGpt.Data;

/// <summary>
/// GPT-2's byte → character table (openai/gpt-2 encoder.py bytes_to_unicode): printable bytes stand for themselves, the
/// rest for 256, 257, …. A byte-level BPE spells every token in it, so each of the 256 characters must be a token of
/// its own, or text holding that byte has no tokens.
/// </summary>
public static class ByteAlphabet
{
    static readonly char[] Chars = Build();

    static char[] Build()
    {
        static bool Printable(int b) => b is >= '!' and <= '~' or >= '¡' and <= '¬' or >= '®' and <= 'ÿ';
        var chars = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++) chars[b] = Printable(b) ? (char)b : (char)next++;
        return chars;
    }

    /// <summary>The character that stands for <paramref name="b"/>.</summary>
    public static char Of(byte b) => Chars[b];

    /// <summary>Bytes in the alphabet: one character per byte, so a substring is the spelling of a byte range.</summary>
    public static string Spell(ReadOnlySpan<byte> bytes)
    {
        Span<char> chars = bytes.Length <= 256 ? stackalloc char[bytes.Length] : new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = Chars[bytes[i]];
        return new string(chars);
    }

    /// <summary>How a byte is named in a message: its hex value, and itself when printable ASCII.</summary>
    public static string Name(byte b) => b is >= 0x21 and <= 0x7E ? $"0x{b:X2} '{(char)b}'" : $"0x{b:X2}";
}
