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
        foreach (var file in files)
        {
            var documents = Corpus.FormatOf(file) switch
            {
                CorpusFormat.Parquet => ParquetRows(file, textField, replaceInvalidUtf8),
                CorpusFormat.Text => TextFile(file, replaceInvalidUtf8, maxUncutChars),
                var f => JsonLines(file, f == CorpusFormat.GzipJsonLines, textField, replaceInvalidUtf8, maxLineBytes),
            };
            foreach (var d in documents)
            {
                if (d.Problem is not null && !skipBad) throw new BadDocumentException(d.File, d.Where, d.Problem);
                yield return d;
            }
        }
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

    static IEnumerable<Document> JsonLines(string file, bool gzip, string field, bool replaceInvalid, int maxLine)
    {
        using var raw = Corpus.OpenRead(file);
        using var stream = gzip ? new GzipReader(raw) : (Stream)raw;
        var reader = new LineReader(stream, maxLine);
        for (long number = 1; ; number++)
        {
            string? broken = null;
            bool more;
            try { more = reader.Next(); }
            catch (InvalidDataException e) { (more, broken) = (false, $"corrupt gzip stream ({e.Message})"); }
            catch (LineTooLongException) { (more, broken) = (false, $"a line of more than {Size(maxLine)}"); }
            if (broken is not null) { yield return new(null, file, $"line {number}", broken, raw.Position); yield break; }
            if (reader.Line.Length == 0 && !more) yield break;
            if (reader.Line.Length == 0) continue;   // a blank line holds no document
            var (text, problem) = TextOf(reader.Line, field, replaceInvalid);
            yield return new(text, file, $"line {number}", problem, raw.Position);
            if (!more) yield break;
        }
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

    // Bytes, not a string, so that invalid UTF-8 is found in its own line, not in a read-ahead buffer.
    static (string? Text, string? Problem) TextOf(ReadOnlyMemory<byte> line, string field, bool replaceInvalid)
    {
        if (!System.Text.Unicode.Utf8.IsValid(line.Span))
        {
            if (!replaceInvalid) return (null, "invalid UTF-8");
            line = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(line.Span));
        }
        return FieldOf(line, field, replaceInvalid);
    }

    // Read token by token, without building a document: the field's last value wins, as JsonElement.TryGetProperty's does.
    static (string? Text, string? Problem) FieldOf(ReadOnlyMemory<byte> line, string field, bool replaceInvalid)
    {
        try
        {
            var r = new Utf8JsonReader(line.Span);
            if (!r.Read()) return (null, "malformed JSON (no value)");
            if (r.TokenType != JsonTokenType.StartObject)
            {
                var root = r.TokenType;
                r.Skip();
                while (r.Read()) { }   // anything after the value is malformed JSON
                return (null, $"{Kind(root)}, not an object");
            }
            (bool found, JsonTokenType kind, string? text) = (false, JsonTokenType.None, null);
            while (r.Read() && r.TokenType == JsonTokenType.PropertyName)
            {
                bool match = r.ValueTextEquals(field);
                r.Read();
                if (match) (found, kind, text) = (true, r.TokenType, r.TokenType == JsonTokenType.String ? StringOf(ref r) : null);
                r.Skip();
            }
            while (r.Read()) { }
            if (!found) return (null, $"no field \"{field}\"");
            if (kind == JsonTokenType.String && text is null) return (null, $"field \"{field}\" holds a lone surrogate (an escape such as \\ud800 without its pair), which is not Unicode");
            return kind == JsonTokenType.String ? (text, null) : (null, $"field \"{field}\" is {Kind(kind)}, not a string");
        }
        catch (JsonException e) { return (null, $"malformed JSON ({e.Message})"); }

        // JSON may escape half of a surrogate pair alone, which no UTF-8 or string of Unicode holds: null, or (replacing) U+FFFD for it.
        string? StringOf(ref Utf8JsonReader r)
        {
            try { return r.GetString(); }
            catch (InvalidOperationException) when (r.ValueIsEscaped) { return replaceInvalid ? LoneSurrogatesReplaced(r.ValueSpan) : null; }
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

    static IEnumerable<Document> ParquetRows(string file, string field, bool replaceInvalid)
    {
        using var stream = Corpus.OpenRead(file);
        long size = stream.Length;
        if (ParquetFooter.Problem(stream) is { } footer) { yield return new(null, file, "the whole file", $"not a readable Parquet file ({footer})", size); yield break; }
        var (reader, problem) = Attempt(() => ParquetReader.CreateAsync(stream).GetAwaiter().GetResult());
        if (reader is null) { yield return new(null, file, "the whole file", $"not a readable Parquet file ({problem})", size); yield break; }
        try
        {
            var (fields, unreadable) = Attempt(() => reader.Schema.GetDataFields());
            if (fields is null) { yield return new(null, file, "the schema", $"not readable ({unreadable})", size); yield break; }
            var column = fields.FirstOrDefault(f => f.Name == field);
            string? bad = column is null ? $"no column \"{field}\" (it has {string.Join(", ", fields.Select(f => f.Name))})"
                : !IsText(column.ClrType) || column.IsArray ? $"column \"{field}\" holds {column.ClrType.Name}{(column.IsArray ? " lists" : "")}, not strings" : null;
            if (bad is not null) { yield return new(null, file, "the schema", bad, size); yield break; }
            // Bytes, not strings: Parquet.Net decodes invalid UTF-8 as U+FFFD, silently. A column of the top level is read
            // through a field of bytes at its path; one inside a struct still as Parquet.Net decodes it.
            (string? Text, string? Problem) Null = (null, $"column \"{field}\" is null, not a string");
            var raw = column!.Path.Length == 1 ? new ParquetSchema(new DataField<byte[]>(column.Name, column.IsNullable)).GetDataFields()[0] : null;
            // One array of rows for every row group, not one per group: above 85 KB each was a large object, and large
            // objects made most of a prepare's collections full ones (docs/benchmarks.md).
            byte[]?[] utf8 = [];
            string?[] strings = [];
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
                if (refused is not null) { yield return new(null, file, $"row group {g}", refused, size); continue; }
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
                if (rowCount is not [var read]) { yield return new(null, file, $"row group {g}", $"corrupt data ({error})", size); continue; }
                for (int r = 0; r < read; r++)
                {
                    // A row's string is made as it is handed out, and its bytes let go: made for the whole group at
                    // once, they outlived the collections while the group was read out (docs/benchmarks.md).
                    var (text, wrong) = raw is null ? (strings[r] is { } s ? (s, null) : Null)
                        : utf8[r] is not { } b ? Null
                        : !replaceInvalid && !System.Text.Unicode.Utf8.IsValid(b) ? (null, "invalid UTF-8")
                        : (Encoding.UTF8.GetString(b), null);
                    if (raw is not null) utf8[r] = null;
                    else strings[r] = null;
                    yield return wrong is null ? new(text, file, $"row group {g}", null, size) : new(null, file, $"row group {g}, row {r}", wrong, size);
                }
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
