
namespace MiniGpt.Data;

/// <summary>
/// Documents read but not yet made. A JSON Lines file's come as its lines and a Parquet file's rows as their bytes,
/// parsed, checked and decoded by <see cref="ForEncoder"/> on the thread that encodes them (or by <see cref="Make"/>,
/// as strings, for a reader of documents): made by the one thread that reads, they were most of its time, and that
/// thread would set the pace of every worker (docs/benchmarks.md).
/// </summary>
public abstract class DocumentBatch
{
    /// <summary>The batch's documents, problems among them, in the file's order. Called once, on any thread.</summary>
    public abstract IReadOnlyList<Document> Make();

    /// <summary>
    /// What <see cref="Make"/> makes, for an encoder or char's scan: each document's text, or (Text null) the
    /// document that is a problem. Called once, instead of <see cref="Make"/>, on the thread that takes the batch.
    /// </summary>
    internal virtual IReadOnlyList<(OrderedEncoder.Text? Text, Document? Problem)> ForEncoder()
        => Make().Select(d => d.Text is null ? ((OrderedEncoder.Text?)null, d) : (new OrderedEncoder.Text(d.Text, d.Ends), null)).ToList();

    /// <summary>
    /// <paramref name="entries"/>, whose texts are slices of <paramref name="chars"/>, the last of them at
    /// <paramref name="last"/> (−1: none): the array goes back once, with that text, or now.
    /// </summary>
    private protected static IReadOnlyList<(OrderedEncoder.Text? Text, Document? Problem)> HandBack(
        List<(OrderedEncoder.Text? Text, Document? Problem)> entries, int last, char[] chars)
    {
        if (last >= 0) entries[last] = (entries[last].Text!.Value with { Pooled = true }, null);
        else PooledArrays.Return(chars);
        return entries;
    }

    /// <summary>
    /// Whether a batch of <paramref name="texts"/> texts of <paramref name="chars"/> characters in all is full. Each text
    /// counts one character more than it has: a corpus of empty documents (20 million of them gzip into 465 KB) would
    /// otherwise fill one batch with all of them, 1.4 GB.
    /// </summary>
    internal static bool Full(long chars, int texts, int batchChars) => chars + texts >= batchChars;

    /// <summary>The file the documents are from.</summary>
    public abstract string File { get; }

    /// <summary>How far into <see cref="File"/> reading had got, for progress.</summary>
    public abstract long FileBytesRead { get; }
}

/// <summary>Documents made as they were read: a text file's pieces, Parquet rows, a problem that ended a file.</summary>
sealed class MadeDocuments(IReadOnlyList<Document> documents) : DocumentBatch
{
    public override IReadOnlyList<Document> Make() => documents;
    public override string File => documents[^1].File;
    public override long FileBytesRead => documents[^1].FileBytesRead;
}

/// <summary>
/// Lines of a JSON Lines file from line <paramref name="firstLine"/> on, blank ones included so that each keeps its
/// number, each followed by '\n', in an array from <see cref="PooledArrays"/> until they are made.
/// </summary>
sealed class JsonLineBatch(string file, long firstLine, string field, bool replaceInvalid) : DocumentBatch
{
    byte[]? bytes;
    int used;
    long read;
    bool made;

    public override string File => file;
    public override long FileBytesRead => read;

    /// <summary>Whether no line has been added.</summary>
    public bool IsEmpty => bytes is null;

    /// <summary>The bytes the lines take, a '\n' each included.</summary>
    public int Bytes => used;

    public void Add(ReadOnlySpan<byte> line)
    {
        int needed = checked(used + line.Length + 1);
        if (bytes is null || needed > bytes.Length)
        {
            int size = Math.Max(needed, Math.Min(2 * (bytes?.Length ?? 0), Array.MaxLength));
            var more = PooledArrays.Rent<byte>(size);
            bytes?.AsSpan(0, used).CopyTo(more);
            Return();
            bytes = more;
        }
        line.CopyTo(bytes.AsSpan(used));
        bytes[used + line.Length] = (byte)'\n';
        used = needed;
    }

    /// <summary>The batch, with how far into its file reading had got.</summary>
    public JsonLineBatch Done(long fileBytesRead)
    {
        read = fileBytesRead;
        return this;
    }

    public override IReadOnlyList<Document> Make()
    {
        var documents = new List<Document>();
        EachLine((number, start, length) =>
        {
            var (text, problem) = Documents.TextOf(bytes.AsSpan(start, length), field, replaceInvalid);
            documents.Add(new(text, file, $"line {number}", problem, read));
        });
        return documents;
    }

    /// <summary>Calls <paramref name="line"/> with each line's number, start and length, blank ones skipped, then lets the lines go: once.</summary>
    void EachLine(Action<long, int, int> line)
    {
        if (made) throw new InvalidOperationException("a batch of lines is made once");
        made = true;
        long number = firstLine;
        for (int start = 0; start < used; number++)
        {
            int length = bytes.AsSpan(start, used - start).IndexOf((byte)'\n');
            if (length > 0) line(number, start, length);
            start += length + 1;
        }
        Return();
    }

    /// <summary>
    /// The texts go into one array from the shared pool, one slice each, not a string each: strings for every line
    /// were most of what a prepare of JSON Lines allocated, and its collections (docs/benchmarks.md).
    /// </summary>
    internal override IReadOnlyList<(OrderedEncoder.Text? Text, Document? Problem)> ForEncoder()
    {
        var entries = new List<(OrderedEncoder.Text? Text, Document? Problem)>();
        // No more characters than bytes (Documents.TextInto): the lines' bytes are room for all their texts.
        var chars = PooledArrays.Rent<char>(used);
        int at = 0, last = -1;
        EachLine((number, start, length) =>
        {
            var (n, problem) = Documents.TextInto(bytes.AsSpan(start, length), field, replaceInvalid, chars.AsSpan(at, length));
            if (problem is not null) entries.Add((null, new Document(null, file, $"line {number}", problem, read)));
            else
            {
                entries.Add((new OrderedEncoder.Text(chars.AsMemory(at, n), EndOfText: true), null));
                (last, at) = (entries.Count - 1, at + n);
            }
        });
        return HandBack(entries, last, chars);
    }

    void Return()
    {
        if (bytes is not null) PooledArrays.Return(bytes);
        bytes = null;
    }
}

/// <summary>
/// Rows of a Parquet row group from row <paramref name="firstRow"/> on, as the bytes Parquet.Net read, checked and
/// decoded on the thread that encodes them (Parquet.Net itself decodes invalid UTF-8 as U+FFFD, silently).
/// </summary>
sealed class ParquetRowBatch(string file, int group, int firstRow, byte[]?[] rows, string field, bool replaceInvalid, long size) : DocumentBatch
{
    public override string File => file;
    public override long FileBytesRead => size;

    /// <summary>The problem of a row with no value.</summary>
    public static string Null(string field) => $"column \"{field}\" is null, not a string";

    /// <summary>
    /// Rows [0, <paramref name="count"/>) of <paramref name="read"/> in batches of about <paramref name="batchChars"/>
    /// bytes (a longer row alone), each let go from <paramref name="read"/> as its batch is handed on.
    /// </summary>
    public static IEnumerable<ParquetRowBatch> Batches(byte[]?[] read, int count, string file, int group, string field, bool replaceInvalid,
        long size, int batchChars)
    {
        for (int from = 0, to; from < count; from = to)
        {
            long bytes = read[from]?.Length ?? 0;
            // Each row counts one byte more than it has: a group of a million empty rows would otherwise be one batch.
            for (to = from + 1; to < count && bytes + (read[to]?.Length ?? 0) + (to - from) < batchChars; to++) bytes += read[to]?.Length ?? 0;
            var rows = read[from..to];
            Array.Clear(read, from, to - from);
            yield return new ParquetRowBatch(file, group, from, rows, field, replaceInvalid, size);
        }
    }

    public override IReadOnlyList<Document> Make()
        => rows.Select((b, i) => Problem(b, i) is { } p ? p : new Document(System.Text.Encoding.UTF8.GetString(b!), file, $"row group {group}", null, size)).ToList();

    Document? Problem(byte[]? row, int i)
        => row is null ? new(null, file, $"row group {group}, row {firstRow + i}", Null(field), size)
            : !replaceInvalid && !System.Text.Unicode.Utf8.IsValid(row) ? new(null, file, $"row group {group}, row {firstRow + i}", "invalid UTF-8", size)
            : null;

    /// <summary>The texts go into one array from the shared pool, one slice each, as a JSON Lines batch's do.</summary>
    internal override IReadOnlyList<(OrderedEncoder.Text? Text, Document? Problem)> ForEncoder()
    {
        var entries = new List<(OrderedEncoder.Text? Text, Document? Problem)>(rows.Length);
        // No more characters than bytes: invalid UTF-8 replaced is one U+FFFD a byte at most.
        long total = rows.Sum(b => (long)(b?.Length ?? 0));
        var chars = PooledArrays.Rent<char>(checked((int)total));
        int at = 0, last = -1;
        for (int i = 0; i < rows.Length; i++)
        {
            if (Problem(rows[i], i) is { } p) { entries.Add((null, p)); continue; }
            int n = System.Text.Encoding.UTF8.GetChars(rows[i], chars.AsSpan(at));
            entries.Add((new OrderedEncoder.Text(chars.AsMemory(at, n), EndOfText: true), null));
            (last, at) = (entries.Count - 1, at + n);
        }
        return HandBack(entries, last, chars);
    }
}
