using System.Runtime.ExceptionServices;
using System.Text;
using System.Text.Json;
using Parquet;
using Parquet.Schema;

namespace MiniGpt.Data;

/// <summary>A document that cannot be read, at <see cref="Where"/> (a line, a row group) in <see cref="DataException.Path"/>.</summary>
public sealed class BadDocumentException(string path, string where, string problem)
    : DataException(path, $"{path}: {where}: {problem}")
{
    public string Where { get; } = where;
}

/// <summary>
/// One document of a corpus, or a piece of one: its text, or (<see cref="Text"/> null) the problem that made it
/// unreadable. A text file comes in pieces, all but the last with <see cref="Ends"/> false.
/// <see cref="FileBytesRead"/> is how far into its file reading has got, for progress.
/// </summary>
public sealed record Document(string? Text, string File, string Where, string? Problem, long FileBytesRead, bool Ends = true);

/// <summary>
/// Reads a corpus as documents: each JSON line, each Parquet row and each text file is one. A text file comes in
/// pieces cut where no token spans the cut, so that a large one is held a piece at a time and its pieces are
/// encoded on every core (a text with no such place is one piece). A problem (a
/// malformed line, a missing or non-string field, a lone surrogate, a corrupt gzip stream or Parquet row group) stops the read
/// with a <see cref="BadDocumentException"/>, or is handed on as a document without text when skipping; a
/// corrupt stream or file ends that file, a corrupt row group only itself.
/// </summary>
public static class Documents
{
    /// <summary>The longest JSON line read: 512 MB, so that the line buffer's doubling stays within an array's size.</summary>
    public const int MaxLineBytes = 1 << 29;

    /// <param name="maxLineBytes">The longest JSON line: a longer one is a problem at its line.</param>
    /// <param name="maxUncutChars">The most characters in a row of a text file without a place to cut them: more is a <see cref="DataException"/>.</param>
    public static IEnumerable<Document> Read(IReadOnlyList<string> files, string textField, bool replaceInvalidUtf8, bool skipBad,
        int maxLineBytes = MaxLineBytes, int maxUncutChars = HeldText.MaxRun)
    {
        foreach (var batch in ReadBatches(files, textField, replaceInvalidUtf8, maxLineBytes, maxUncutChars))
            foreach (var d in batch.Make())
            {
                if (d.Problem is not null && !skipBad) throw new BadDocumentException(d.File, d.Where, d.Problem);
                yield return d;
            }
    }

    /// <summary>
    /// The documents of <see cref="Read"/> in batches of about <paramref name="batchChars"/> characters (or bytes, of JSON
    /// lines and Parquet rows), each made (<see cref="DocumentBatch.Make"/>, or its texts for an encoder) on whichever
    /// thread takes it. Problems are documents too, in their place: skipping them or not is the caller's.
    /// </summary>
    public static IEnumerable<DocumentBatch> ReadBatches(IReadOnlyList<string> files, string textField, bool replaceInvalidUtf8,
        int maxLineBytes = MaxLineBytes, int maxUncutChars = HeldText.MaxRun, int batchChars = OrderedEncoder.PieceChars)
    {
        foreach (var file in files)
        {
            var format = Corpus.FormatOf(file);
            var batches = format switch
            {
                CorpusFormat.JsonLines or CorpusFormat.GzipJsonLines => JsonLineBatches(file, format == CorpusFormat.GzipJsonLines, textField, replaceInvalidUtf8, maxLineBytes, batchChars),
                CorpusFormat.Parquet => ParquetBatches(file, textField, replaceInvalidUtf8, batchChars),
                _ => Grouped(TextFile(file, replaceInvalidUtf8, maxUncutChars), batchChars),
            };
            foreach (var b in batches) yield return b;
        }
    }

    /// <summary>Documents made as they were read, in batches of about <paramref name="batchChars"/> characters.</summary>
    static IEnumerable<DocumentBatch> Grouped(IEnumerable<Document> documents, int batchChars)
    {
        var batch = new List<Document>();
        long chars = 0;
        foreach (var d in documents)
        {
            batch.Add(d);
            chars += d.Text?.Length ?? 0;
            if (!DocumentBatch.Full(chars, batch.Count, batchChars)) continue;
            yield return new MadeDocuments(batch);
            (batch, chars) = ([], 0);
        }
        if (batch.Count > 0) yield return new MadeDocuments(batch);
    }

    /// <summary>
    /// A text file in pieces of about <see cref="OrderedEncoder.PieceChars"/> characters where it has the places to
    /// cut them, each cut where <see cref="CorpusPreparer.CutPoint"/> says no pre-tokenizer match spans it, so their ids
    /// joined are the whole file's. Its UTF-8 is checked first, in a read of its own: a bad file is one problem,
    /// before any piece of it is encoded.
    /// </summary>
    static IEnumerable<Document> TextFile(string file, bool replaceInvalid, int maxUncut)
    {
        const string where = "the whole file";
        const int chunkBytes = 1 << 20;
        if (!replaceInvalid)
        {
            var check = new Utf8Runes(false);
            long offset = 0;
            try
            {
                foreach (var chunk in Corpus.Chunks([file], chunkBytes)) { check.Count(chunk.Span, final: false); offset += chunk.Length; }
                check.Count([], final: true);
            }
            catch (InvalidUtf8Exception e) { return [new(null, file, where, $"invalid UTF-8 at byte offset {e.Offset}", offset)]; }
        }
        return Pieces();

        IEnumerable<Document> Pieces()
        {
            var text = new HeldText(replaceInvalid, chunkBytes + 2 * OrderedEncoder.PieceChars, maxUncut);
            long read = 0;
            foreach (var chunk in Corpus.Chunks([file], chunkBytes))
            {
                read += chunk.Length;
                foreach (var piece in Cut(chunk.Span, last: false)) yield return new(piece, file, where, null, read, Ends: false);
            }
            var rest = Cut([], last: true);
            if (rest.Count == 0) rest.Add("");   // an empty file is one empty document
            for (int i = 0; i < rest.Count; i++) yield return new(rest[i], file, where, null, read, Ends: i == rest.Count - 1);

            List<string> Cut(ReadOnlySpan<byte> bytes, bool last)
            {
                try
                {
                    text.Decode(bytes, flush: last);
                    return text.Cut(text.Length, all: last);
                }
                catch (DecoderFallbackException) { throw new DataException(file, $"{file} changed while it was being prepared: it is no longer UTF-8"); }
                catch (UncutRunException e) { throw e.In(file, read); }
            }
        }
    }

    static string Size(int bytes) => bytes % (1 << 20) == 0 ? $"{bytes >> 20} MB" : FormattableString.Invariant($"{bytes:N0} bytes");

    /// <summary>
    /// A JSON Lines file as batches of its lines, copied as read and parsed later: a stream that cannot be read further
    /// (a corrupt gzip stream, a line over the limit) ends it with a problem at that line. Any other failure to read
    /// (out of memory for a long line, an I/O error) comes after the lines before it, whose problems come first.
    /// </summary>
    static IEnumerable<DocumentBatch> JsonLineBatches(string file, bool gzip, string field, bool replaceInvalid, int maxLine, int batchBytes)
    {
        using var raw = Corpus.OpenRead(file);
        using var stream = gzip ? new GzipReader(raw) : (Stream)raw;
        var reader = new LineReader(stream, maxLine);
        var lines = new JsonLineBatch(file, 1, field, replaceInvalid);
        for (long number = 1; ; number++)
        {
            string? broken = null;
            ExceptionDispatchInfo? failed = null;
            bool more = false;
            try
            {
                more = reader.Next();
                if (reader.Line.Length > 0 || more) lines.Add(reader.Line.Span);   // else the end of the last line: no line
            }
            catch (InvalidDataException e) { broken = $"corrupt gzip stream ({e.Message})"; }
            catch (LineTooLongException) { broken = $"a line of more than {Size(maxLine)}"; }
            catch (Exception e) when (e is not OperationCanceledException) { failed = ExceptionDispatchInfo.Capture(e); }
            if (broken is not null || failed is not null)
            {
                if (!lines.IsEmpty) yield return lines.Done(raw.Position);
                failed?.Throw();
                yield return new MadeDocuments([new(null, file, $"line {number}", broken!, raw.Position)]);
                yield break;
            }
            if (!more) break;
            if (lines.Bytes < batchBytes) continue;
            yield return lines.Done(raw.Position);
            lines = new JsonLineBatch(file, number + 1, field, replaceInvalid);
        }
        if (!lines.IsEmpty) yield return lines.Done(raw.Position);
    }

    /// <summary>A line longer than the reader's limit.</summary>
    sealed class LineTooLongException : Exception;

    /// <summary>
    /// The lines of a stream, found a buffer at a time with a vectorised search for '\n' rather than byte by byte.
    /// <see cref="Line"/> is the current line without its '\n' (and a '\r' before it), valid until the next call.
    /// </summary>
    sealed class LineReader(Stream stream, int maxLine)
    {
        byte[] buffer = new byte[1 << 16];
        int start, end;   // buffer[start..end): read, not yet handed out
        bool eof;

        public ReadOnlyMemory<byte> Line { get; private set; }

        /// <summary>Moves to the next line; false when it is the last (ended by the end of the stream, not by '\n').</summary>
        public bool Next()
        {
            int scanned = 0, newline;
            while ((newline = buffer.AsSpan(start + scanned, end - start - scanned).IndexOf((byte)'\n')) < 0 && !eof)
            {
                scanned = end - start;
                if (start > 0) { Buffer.BlockCopy(buffer, start, buffer, 0, end - start); (end, start) = (end - start, 0); }
                if (end == buffer.Length)   // a line longer than the buffer
                {
                    if (buffer.Length > maxLine) throw new LineTooLongException();
                    Array.Resize(ref buffer, (int)Math.Min(2L * buffer.Length, maxLine + 1L));   // room for the '\n' after the longest line
                }
                int n = stream.Read(buffer, end, buffer.Length - end);
                if (n == 0) eof = true;
                else end += n;
            }
            bool found = newline >= 0;
            int lineEnd = found ? start + scanned + newline : end;
            int length = lineEnd - start;
            if (length > 0 && buffer[lineEnd - 1] == '\r') length--;
            Line = buffer.AsMemory(start, length);
            start = found ? lineEnd + 1 : end;
            return found;
        }
    }

    /// <summary>The text of a JSON line's field as a string, or the problem; <see cref="TextInto"/> reads it.</summary>
    internal static (string? Text, string? Problem) TextOf(ReadOnlySpan<byte> line, string field, bool replaceInvalid)
    {
        var chars = PooledArrays.Rent<char>(line.Length);   // no more characters than bytes: see TextInto
        var (length, problem) = TextInto(line, field, replaceInvalid, chars);
        var text = problem is null ? new string(chars, 0, length) : null;
        PooledArrays.Return(chars);
        return (text, problem);
    }

    /// <summary>
    /// The text of a JSON line's field, written to <paramref name="into"/>, which has room for as many characters as the
    /// line has bytes (UTF-8 has at least one byte a character, an escape several, and invalid UTF-8 replaced is one
    /// U+FFFD a byte); its length, or the problem.
    /// </summary>
    // Bytes, not a string, so that invalid UTF-8 is found in its own line, not in a read-ahead buffer.
    internal static (int Length, string? Problem) TextInto(ReadOnlySpan<byte> line, string field, bool replaceInvalid, Span<char> into)
    {
        if (!System.Text.Unicode.Utf8.IsValid(line))
        {
            if (!replaceInvalid) return (0, "invalid UTF-8");
            line = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(line));
        }
        return FieldInto(line, field, replaceInvalid, into);
    }

    // Read token by token, without building a document: the field's last value wins, as JsonElement.TryGetProperty's does.
    static (int Length, string? Problem) FieldInto(ReadOnlySpan<byte> line, string field, bool replaceInvalid, Span<char> into)
    {
        try
        {
            var r = new Utf8JsonReader(line);
            if (!r.Read()) return (0, "malformed JSON (no value)");
            if (r.TokenType != JsonTokenType.StartObject)
            {
                var root = r.TokenType;
                r.Skip();
                while (r.Read()) { }   // anything after the value is malformed JSON
                return (0, $"{Kind(root)}, not an object");
            }
            (bool found, JsonTokenType kind, int length) = (false, JsonTokenType.None, -1);
            while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
            {
                bool match = r.ValueTextEquals(field);
                r.Read();
                if (match) (found, kind, length) = (true, r.TokenType, r.TokenType == JsonTokenType.String ? StringInto(ref r, replaceInvalid, into) : -1);
                r.Skip();
            }
            while (r.Read()) { }
            if (!found) return (0, $"no field \"{field}\"");
            if (kind == JsonTokenType.String && length < 0) return (0, $"field \"{field}\" holds a lone surrogate (an escape such as \\ud800 without its pair), which is not Unicode");
            return kind == JsonTokenType.String ? (length, null) : (0, $"field \"{field}\" is {Kind(kind)}, not a string");
        }
        catch (JsonException e) { return (0, $"malformed JSON ({e.Message})"); }

        // JSON may escape half of a surrogate pair alone, which no UTF-8 or string of Unicode holds: −1, or (replacing) U+FFFD for it.
        static int StringInto(ref Utf8JsonReader r, bool replaceInvalid, Span<char> into)
        {
            try { return r.CopyString(into); }
            catch (InvalidOperationException) when (r.ValueIsEscaped)
            {
                if (!replaceInvalid) return -1;
                var replaced = LoneSurrogatesReplaced(r.ValueSpan);
                replaced.CopyTo(into);
                return replaced.Length;
            }
        }
    }

    /// <summary>A JSON string's escaped text (between its quotes, valid UTF-8) unescaped, each lone surrogate as U+FFFD.</summary>
    static string LoneSurrogatesReplaced(ReadOnlySpan<byte> escaped)
    {
        var s = Encoding.UTF8.GetString(escaped);
        var b = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] != '\\') { b.Append(s[i]); continue; }
            char e = s[++i];   // the reader has checked every escape
            b.Append(e switch
            {
                'b' => '\b', 'f' => '\f', 'n' => '\n', 'r' => '\r', 't' => '\t',
                'u' => (char)Convert.ToUInt16(s.Substring(i + 1, 4), 16),
                _ => e,   // \" \\ \/
            });
            if (e == 'u') i += 4;
        }
        for (int i = 0; i < b.Length; i++)
            if (char.IsHighSurrogate(b[i]) && i + 1 < b.Length && char.IsLowSurrogate(b[i + 1])) i++;
            else if (char.IsSurrogate(b[i])) b[i] = '\uFFFD';
        return b.ToString();
    }

    static string Kind(JsonTokenType t) => t switch
    {
        JsonTokenType.Null => "null",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.StartObject => "an object",
        JsonTokenType.Number => "a number",
        _ => "a string",
    };

    /// <summary>
    /// A Parquet file's rows in batches. Those of a column of the top level go as their bytes, made into text on the thread
    /// that encodes them (<see cref="ParquetRowBatch"/>); a problem with the file, its schema or a row group is a batch of its own.
    /// </summary>
    static IEnumerable<DocumentBatch> ParquetBatches(string file, string field, bool replaceInvalid, int batchChars)
    {
        using var stream = Corpus.OpenRead(file);
        long size = stream.Length;
        DocumentBatch One(string where, string problem) => new MadeDocuments([new(null, file, where, problem, size)]);
        if (ParquetFooter.Problem(stream) is { } footer) { yield return One("the whole file", $"not a readable Parquet file ({footer})"); yield break; }
        var (reader, problem) = Attempt(() => ParquetReader.CreateAsync(stream).GetAwaiter().GetResult());
        if (reader is null) { yield return One("the whole file", $"not a readable Parquet file ({problem})"); yield break; }
        try
        {
            var (fields, unreadable) = Attempt(() => reader.Schema.GetDataFields());
            if (fields is null) { yield return One("the schema", $"not readable ({unreadable})"); yield break; }
            var column = fields.FirstOrDefault(f => f.Name == field);
            string? bad = column is null ? $"no column \"{field}\" (it has {string.Join(", ", fields.Select(f => f.Name))})"
                : !IsText(column.ClrType) || column.IsArray ? $"column \"{field}\" holds {column.ClrType.Name}{(column.IsArray ? " lists" : "")}, not strings" : null;
            if (bad is not null) { yield return One("the schema", bad); yield break; }
            // Bytes, not strings: Parquet.Net decodes invalid UTF-8 as U+FFFD, silently. A column of the top level is read
            // through a field of bytes at its path; one inside a struct still as Parquet.Net decodes it.
            var raw = column!.Path.Length == 1 ? new ParquetSchema(new DataField<byte[]>(column.Name, column.IsNullable)).GetDataFields()[0] : null;
            // One array of rows for every row group, not one per group: above 85 KB each was a large object, and large
            // objects made most of a prepare's collections full ones (docs/benchmarks.md).
            byte[]?[] utf8 = [];
            string?[] strings = [];
            // A row's string is let go as it is handed out: held for the whole group, the strings outlived the
            // collections while the group was read out (docs/benchmarks.md).
            IEnumerable<Document> Strings(int g, int read)
            {
                for (int r = 0; r < read; r++)
                {
                    var s = strings[r];
                    strings[r] = null;
                    yield return s is not null ? new(s, file, $"row group {g}", null, size) : new(null, file, $"row group {g}, row {r}", ParquetRowBatch.Null(field), size);
                }
            }
            for (int g = 0; g < reader.RowGroupCount; g++)
            {
                // The counts are the file's word, checked before an array of that many rows is made.
                var (counts, error) = Attempt(() =>
                {
                    using var group = reader.OpenRowGroupReader(g);
                    return new[] { group.RowCount, group.GetMetadata(column!)?.MetaData?.NumValues ?? throw new InvalidDataException("its column chunk has no metadata") };
                });
                string? refused = counts is [var rows, var held]
                    ? rows > held ? $"corrupt data (it claims {rows:N0} rows, its column holds {held:N0} values)"
                        : rows > MaxRowGroupRows ? $"{rows:N0} rows, more than the {MaxRowGroupRows:N0} MiniGpt holds at once (write the file with smaller row groups)" : null
                    : $"corrupt data ({error})";
                if (refused is not null) { yield return One($"row group {g}", refused); continue; }
                (var rowCount, error) = Attempt(() =>
                {
                    using var group = reader.OpenRowGroupReader(g);
                    int n = checked((int)group.RowCount);
                    if (raw is not null)
                    {
                        if (utf8.Length < n) utf8 = new byte[]?[n];
                        group.ReadAsync(raw, utf8.AsMemory(0, n), null).AsTask().GetAwaiter().GetResult();
                    }
                    else
                    {
                        if (strings.Length < n) strings = new string?[n];
                        group.ReadAsync(column!, strings.AsMemory(0, n), null).AsTask().GetAwaiter().GetResult();
                    }
                    return new[] { n };
                });
                if (rowCount is not [var read]) { yield return One($"row group {g}", $"corrupt data ({error})"); continue; }
                var batches = raw is not null ? ParquetRowBatch.Batches(utf8, read, file, g, field, replaceInvalid, size, batchChars)
                    : Grouped(Strings(g, read), batchChars);
                foreach (var b in batches) yield return b;
            }
        }
        finally { reader.DisposeAsync().AsTask().GetAwaiter().GetResult(); }   // it has no synchronous Dispose
    }

    /// <summary>Parquet.Net gives a UTF-8 (or plain BYTE_ARRAY) column as string or as ReadOnlyMemory; both read as strings.</summary>
    static bool IsText(Type t) => t == typeof(string) || t.IsGenericType && t.GetGenericTypeDefinition() == typeof(ReadOnlyMemory<>);

    /// <summary>
    /// The most rows of a Parquet row group held at once: 2²⁶, pyarrow's largest row group by default. A file of 156 bytes
    /// can hold 100 million null rows, and a footer can claim any count.
    /// </summary>
    public const long MaxRowGroupRows = 1L << 26;

    /// <summary>
    /// A damaged file makes Parquet.Net throw many kinds of exception; each is a problem with the file. So is an
    /// OutOfMemoryException: it comes from a size the file claims (a page, a list, a string of 2³¹ − 1), whose
    /// array could not be made, and leaves nothing half done.
    /// </summary>
    static (T? Value, string? Problem) Attempt<T>(Func<T> read) where T : class
    {
        try { return (read(), null); }
        catch (OutOfMemoryException e) { return (null, $"a size in it needs more memory than there is: {e.Message}"); }
        catch (Exception e) when (e is not OperationCanceledException) { return (null, e.Message.Split('\n')[0]); }
    }
}
