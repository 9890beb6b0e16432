using System.Text;

namespace MiniGpt.Data;

/// <summary>
/// UTF-8 decoded a chunk at a time and held until it can be cut into pieces where no token spans the cut
/// (<see cref="CorpusPreparer.CutPoint"/>). A search that found no cut resumes where it stopped, so a text without
/// one costs time linear in its size, not quadratic. Replacing, the decoder gives one U+FFFD per maximal invalid
/// subsequence, as <see cref="Utf8Runes"/> does; not replacing, it throws <see cref="DecoderFallbackException"/>
/// (for a text checked before, one that changed since). A run without a cut longer than
/// <paramref name="maxRun"/> characters throws <see cref="UncutRunException"/>: it would be one piece, and a piece
/// is a string.
/// </summary>
sealed class HeldText(bool replaceInvalid, int capacity, int maxRun = HeldText.MaxRun)
{
    /// <summary>The longest run without a cut by default: the longest string .NET can make.</summary>
    public const int MaxRun = 0x3FFFFFDF;

    readonly Decoder decoder = new UTF8Encoding(false, throwOnInvalidBytes: !replaceInvalid).GetDecoder();
    char[] text = new char[capacity];
    int held, searched;   // text[..held] is decoded and not yet cut off; text[..searched] holds no cut
    int pending;          // bytes given to the decoder of a character not yet whole

    /// <summary>Characters decoded and not yet cut off.</summary>
    public int Length => held;

    /// <summary>Decodes <paramref name="bytes"/> after the text held; returns the characters they gave.</summary>
    public ReadOnlySpan<char> Decode(ReadOnlySpan<byte> bytes, bool flush)
    {
        if (text.Length - held < bytes.Length + 4)   // a long run without a cut; Cut keeps it within maxRun, so no overflow
            Array.Resize(ref text, (int)Math.Min(Math.Max(2L * text.Length, held + bytes.Length + 4L), Array.MaxLength));
        int start = held;
        held += decoder.GetChars(bytes, text.AsSpan(held), flush);
        pending = flush ? 0 : IncompleteTail(bytes);
        return text.AsSpan(start, held - start);
    }

    /// <summary>How many bytes at the end of <paramref name="bytes"/> begin a UTF-8 character they do not finish (0 to 3).</summary>
    static int IncompleteTail(ReadOnlySpan<byte> bytes)
    {
        for (int i = 1; i <= Math.Min(3, bytes.Length); i++)
        {
            byte b = bytes[^i];
            if ((b & 0xC0) == 0x80) continue;   // a continuation byte: look further back for the lead
            int length = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
            return length > i ? i : 0;
        }
        return 0;
    }

    /// <summary>
    /// Cuts the pieces off the first <paramref name="end"/> characters: up to their last cut, or (<paramref name="all"/>)
    /// all of them, the last piece short. What is left is kept for the next chunk.
    /// </summary>
    public List<string> Cut(int end, bool all) => Cut(end, all, piece => new string(piece));

    /// <summary>As <see cref="Cut(int, bool)"/>, each piece made by <paramref name="copy"/> from the characters held.</summary>
    public List<T> Cut<T>(int end, bool all, Func<ReadOnlySpan<char>, T> copy)
    {
        var pieces = new List<T>();
        int at = 0;
        for (int cut; (cut = CorpusPreparer.CutPoint(text.AsSpan(at, end - at), at == 0 ? searched : 0)) > 0; at += cut)
        {
            if (cut > maxRun) throw new UncutRunException(cut, maxRun, HeldBytes(at));
            pieces.Add(copy(text.AsSpan(at, cut)));
        }
        // Held over, the last character may yet begin a piece (a cut is judged by the characters either side): one more.
        if (end - at > maxRun + (all ? 0L : 1L)) throw new UncutRunException(end - at, maxRun, HeldBytes(at));
        if (all && at < end) pieces.Add(copy(text.AsSpan(at, end - at)));
        if (all) at = end;
        searched = all ? 0 : CorpusPreparer.NoCutBefore(end - at);
        if (at > 0) text.AsSpan(at, held - at).CopyTo(text);
        held -= at;
        return pieces;
    }

    /// <summary>
    /// The bytes the text held from <paramref name="from"/> on was decoded from, or more (its UTF-8 length), and those
    /// of a character not yet whole after it.
    /// </summary>
    long HeldBytes(int from) => Encoding.UTF8.GetByteCount(text.AsSpan(from, held - from)) + pending;
}

/// <summary>More characters in a row than a <see cref="HeldText"/> may hold without a place to cut them.</summary>
sealed class UncutRunException(long chars, int limit, long heldBytes) : Exception
{
    public long Chars { get; } = chars;
    public int Limit { get; } = limit;

    /// <summary>
    /// The bytes the run and the text held after it were decoded from, or more (U+FFFD for an invalid byte counts 3),
    /// with those of a character not yet whole: the run began at least this far before the end of what was read.
    /// </summary>
    public long HeldBytes { get; } = heldBytes;

    /// <summary>The error to report: the run found in <paramref name="file"/> when <paramref name="read"/> of its bytes had been read.</summary>
    public DataException In(string file, long read)
        => new(file, $"{file}: " + FormattableString.Invariant($"{Chars:N0} characters in a row before byte {read:N0} have no place ")
                     + "to cut them into pieces for the tokenizer (a newline, or a space or punctuation between two letters); at most "
                     + FormattableString.Invariant($"{Limit:N0} can be one piece"));
}
