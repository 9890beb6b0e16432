using System.Security.Cryptography;
using System.Text;

namespace MiniGpt.Data;

public sealed record PrepareOptions(
    string Corpus,
    TokenizerKind Tokenizer,
    string OutDir,
    double ValFraction = 0.1,
    bool Compact = false,
    string? VocabFile = null,
    string? MergesFile = null,
    string? TiktokenFile = null,
    bool ReplaceInvalidUtf8 = false,
    int ChunkBytes = 1 << 20,
    TokenizerDescription? Fixed = null,
    string TextField = "text",
    string DocSeparator = "\n\n",
    bool SkipBadDocuments = false,
    int? Workers = null,
    long? ValDocuments = null,
    int MaxLineBytes = Documents.MaxLineBytes,
    int MaxUncutChars = HeldText.MaxRun)
{
    /// <summary>
    /// Threads that encode (a text with BPE; a corpus of documents, and with char both of its passes):
    /// <see cref="Workers"/>, or one per core.
    /// </summary>
    public int WorkerCount => Workers ?? Environment.ProcessorCount;

    /// <summary>Every bad value, each naming its key; empty when the options can be used.</summary>
    public IReadOnlyList<ConfigProblem> Problems()
    {
        var p = new List<ConfigProblem>();
        if (!(ValFraction > 0 && ValFraction < 1)) p.Add(new("val_fraction", ConfigProblem.Show(ValFraction), "must be in (0, 1)"));
        if (string.IsNullOrEmpty(TextField)) p.Add(new("text_field", ConfigProblem.Show(TextField), "must name a field"));
        if (ValDocuments < 1) p.Add(new("val_documents", ConfigProblem.Show(ValDocuments), "must be at least 1"));
        if (Workers < 1) p.Add(new("workers", ConfigProblem.Show(Workers), "must be at least 1"));
        if (MaxLineBytes is < 1 << 16 or > 1 << 30) p.Add(new("max_line_bytes", ConfigProblem.Show(MaxLineBytes), "must be in [65536, 1073741824]: the first read of a line takes 64 KB"));
        if (MaxUncutChars is < OrderedEncoder.PieceChars or > HeldText.MaxRun)
            p.Add(new("max_uncut_chars", ConfigProblem.Show(MaxUncutChars), $"must be in [{OrderedEncoder.PieceChars}, {HeldText.MaxRun}]: a piece is at least {OrderedEncoder.PieceChars} characters, and a string at most {HeldText.MaxRun}"));
        if (Compact && Tokenizer == TokenizerKind.Char) p.Add(new("compact", null, "applies to BPE tokenizers; a char vocabulary is already compact"));
        return p;
    }
}

/// <summary>The streaming passes over a corpus: scan (check, count; text and char only) and encode.</summary>
public enum PreparePhase { Scan, Encode }

/// <summary>Where a prepare run is: its pass, bytes read of the total, and (for a corpus of documents) documents read.</summary>
public sealed record PrepareProgress(PreparePhase Phase, long BytesDone, long BytesTotal, long Documents = 0);

/// <summary>
/// Turns a corpus into a token cache (train.bin, val.bin, meta.json) in streaming passes, so memory stays flat
/// whatever the corpus size. For a text, pass 1 checks its UTF-8, counts its characters and
/// (for char) collects the vocabulary; pass 2 tokenizes. The split is nanoGPT's: the first (1 − val_fraction) of
/// the characters are train, the rest val. A corpus of documents is split by document: with char in the same two
/// passes, with BPE in one that checks, counts and encodes every document, after which the last ones move to
/// val. Files are written in a staging folder and moved in only when complete, meta.json last, so an
/// interrupted run never leaves a cache that looks valid, and the cache they replace can come back until then
/// (<see cref="CacheReplacement"/>).
/// </summary>
public static class CorpusPreparer
{
    public static TokenCacheMeta Prepare(PrepareOptions o, IProgress<PrepareProgress>? progress = null, CancellationToken ct = default)
    {
        if (o.Problems() is { Count: > 0 } problems) throw new ConfigException(problems);
        var files = Corpus.ResolveFiles(o.Corpus);
        // Build (and so validate) a BPE tokenizer from files before reading a possibly huge corpus. The bundled
        // encodings cannot fail, so they are built on another core while the corpus is first read.
        bool bundled = o.Fixed is null && o.Tokenizer is TokenizerKind.Cl100kBase or TokenizerKind.O200kBase;
        ITokenizer? bpe = o.Fixed is { } d ? Tokenizers.FromDescription(d, "the model's tokenizer")
            : o.Tokenizer == TokenizerKind.Char || bundled ? null : Tokenizers.CreateBpe(o.Tokenizer, o.VocabFile, o.MergesFile, o.TiktokenFile);

        CacheReplacement.Recover(o.OutDir, ct: ct);   // a cache a killed prepare left aside is back before anything here can fail
        if (Directory.Exists(o.OutDir) && !File.Exists(Path.Combine(o.OutDir, TokenCacheMeta.FileName))
            && Directory.EnumerateFileSystemEntries(o.OutDir).Any(e => !IsOurs(e)))
            throw new DataException(o.OutDir, $"{o.OutDir} is not empty and holds no token cache; a token cache needs an empty or new folder");
        bool documents = Corpus.IsDocuments(files);
        // With BPE a corpus of documents is read once: checked, counted and encoded together, then split (pass 1 is for text and char).
        bool onePass = documents && (o.Fixed?.Kind ?? o.Tokenizer) != TokenizerKind.Char;
        // Two tasks: encoding waits for the tokenizer only. The files' records and the corpus's hash, wanted only for
        // meta.json, come from one more read on another core.
        var building = Task.Run(() => bundled ? Tokenizers.CreateBpe(o.Tokenizer) : bpe, ct);
        var recording = Task.Run(() => CorpusSources.Record(o.Corpus, files), ct);

        ScanResult scan;
        try { scan = onePass ? new ScanResult(files.Sum(f => new FileInfo(f).Length), 0, null) : documents ? DocumentCorpus.Scan(files, o, progress, ct) : Scan(files, o, progress, ct); }
        catch (InvalidUtf8Exception e) { throw InFile(e, files); }
        bpe = building.GetAwaiter().GetResult();
        if (scan.Bytes == 0) throw new DataException(o.Corpus, $"corpus {o.Corpus} is empty");
        long splitAt = (long)(scan.Chars * (1 - o.ValFraction));   // the first character of val
        long trainDocuments = documents && !onePass ? TrainDocuments(o, scan.Documents) : 0;
        if (bpe is null && scan.CharSet!.Count == 0)   // documents all empty, joined by an empty separator
            throw new DataException(o.Corpus, $"corpus {o.Corpus} holds no characters, and a char vocabulary needs at least one");
        ITokenizer tokenizer = bpe ?? new CharTokenizer(scan.CharSet!);
        if (tokenizer is CharTokenizer fixedChars && scan.CharSet!.Where(r => fixedChars.IdOf(r) < 0).Take(10).ToList() is { Count: > 0 } unknown)
            throw new DataException(o.Corpus, $"corpus {o.Corpus} has characters the model's vocabulary lacks: " +
                                              string.Join(" ", unknown.Select(r => $"U+{r:X4}")));
        bool created = !Directory.Exists(o.OutDir), done = false;
        if (File.Exists(o.OutDir)) throw new DataException(o.OutDir, $"{o.OutDir} is a file, not a folder for a token cache");
        Directory.CreateDirectory(o.OutDir);
        using var held = Hold(o.OutDir);
        // Holding the lock, any staging folder is a dead prepare's: a Ctrl+C, SIGTERM or kill -9 mid-way.
        CacheReplacement.RemoveStaging(o.OutDir);

        var staging = CacheReplacement.NewStaging(o.OutDir);
        try
        {
            int rawBytes = o.Compact ? 4 : TokenFile.BytesPerToken(tokenizer.VocabSize);
            var trainPath = Path.Combine(staging, TokenCacheMeta.TrainFile);
            var valPath = Path.Combine(staging, TokenCacheMeta.ValFile);
            long trainTokens, valTokens, trainBytes, valBytes, trainChars = splitAt, valChars = scan.Chars - splitAt;
            using (var train = new TokenFileWriter(trainPath, rawBytes))
            using (var val = new TokenFileWriter(valPath, rawBytes))
            {
                if (onePass)
                {
                    // Everything goes to train.bin first; once the documents are counted, the last ones move to val.bin.
                    var ends = Path.Combine(staging, "document-ends");
                    (long count, long skipped) = DocumentCorpus.EncodeAll(files, o, tokenizer, train, ends, progress, ct);
                    train.Complete();
                    trainDocuments = TrainDocuments(o, count);
                    scan = scan with { Documents = count, Skipped = skipped };
                    var (split, all) = (DocumentCorpus.EndOf(ends, trainDocuments - 1), DocumentCorpus.EndOf(ends, count - 1));
                    MoveTail(trainPath, split.Ids, val);
                    (trainChars, valChars, trainBytes, valBytes) = (split.Chars, all.Chars - split.Chars, split.Bytes, all.Bytes - split.Bytes);
                    (trainTokens, valTokens) = (split.Ids, all.Ids - split.Ids);
                }
                else
                {
                    if (documents)
                    {
                        var s = DocumentCorpus.Encode(files, o, (CharTokenizer)tokenizer, trainDocuments, train, val, progress, ct);
                        (trainBytes, valBytes, trainChars, valChars) = (s.TrainBytes, s.ValBytes, s.TrainChars, s.ValChars);
                    }
                    else (trainBytes, valBytes) = Encode(files, o, tokenizer, splitAt, scan.Bytes, train, val, progress, ct);
                    train.Complete();
                    (trainTokens, valTokens) = (train.Count, val.Count);
                }
                val.Complete();
            }
            if (o.Compact)
            {
                var compact = new CompactTokenizer(tokenizer, UsedIds(trainPath).Union(UsedIds(valPath)));
                Remap(trainPath, compact);
                Remap(valPath, compact);
                tokenizer = compact;
            }
            var recorded = recording.GetAwaiter().GetResult();
            var meta = new TokenCacheMeta(TokenCacheMeta.CurrentFormat, tokenizer.Describe(), tokenizer.VocabSize,
                TokenFile.BytesPerToken(tokenizer.VocabSize), recorded.Bytes, recorded.Sha256, files, o.ValFraction,
                trainTokens, valTokens, trainChars, valChars, trainBytes, valBytes)
            {
                // Only a corpus of documents records these, so a text corpus's meta.json stays as it was.
                Documents = documents ? scan.Documents : null,
                ValDocuments = documents ? scan.Documents - trainDocuments : null,
                SkippedDocuments = documents ? scan.Skipped : null,
                TextField = files.Any(f => Corpus.FormatOf(f) is not CorpusFormat.Text) ? o.TextField : null,
                Sources = recorded.Sources,
            };
            ct.ThrowIfCancellationRequested();
            CacheReplacement.Land(o.OutDir, staging, meta.Writer(o.OutDir));
            done = true;
            return meta;
        }
        finally
        {
            try { CacheReplacement.Discard(o.OutDir, staging); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            // A corpus of documents is checked as it is encoded, inside the folder: one this run made goes again if it
            // fails. Not recursively: a folder that another prepare has begun to use since is left to it.
            if (created && !done)
            {
                held.Dispose();
                try { File.Delete(Path.Combine(o.OutDir, CacheReplacement.LockFile)); Directory.Delete(o.OutDir); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            }
        }
    }

    /// <summary>
    /// How many documents go to train: all but the last val_documents, or but the last ceil(val_fraction × documents),
    /// leaving at least one for train. Too few documents, or too many held out, are refused.
    /// </summary>
    static long TrainDocuments(PrepareOptions o, long documents)
    {
        if (documents == 0) throw new DataException(o.Corpus, $"corpus {o.Corpus} is empty");
        if (documents < 2)
            throw new DataException(o.Corpus, $"corpus {o.Corpus} holds 1 document; splitting train from val by document needs at least 2");
        if (o.ValDocuments >= documents)
            throw new ConfigException("val_documents", o.ValDocuments, $"must be below the {documents} documents of {o.Corpus}");
        return documents - (o.ValDocuments ?? ValDocumentsOf(documents, o.ValFraction));
    }

    /// <summary>The documents val_fraction holds out: ceil(val_fraction × documents), at least one, leaving at least one for train.</summary>
    internal static long ValDocumentsOf(long documents, double valFraction)
        => Math.Clamp((long)Math.Ceiling(documents * valFraction), 1, Math.Max(1, documents - 1));

    /// <summary>Copies the ids of a complete token file from <paramref name="from"/> on into <paramref name="to"/>, then cuts them off it.</summary>
    static void MoveTail(string path, long from, TokenFileWriter to)
    {
        using (var r = new TokenFileReader(path)) CopyIds(r, from, to, id => id);
        TokenFile.Truncate(path, from);
    }

    /// <summary>Writes ids [from, end) of <paramref name="r"/> to <paramref name="w"/>, each through <paramref name="map"/>, a block at a time.</summary>
    static void CopyIds(TokenFileReader r, long from, TokenFileWriter w, Func<int, int> map)
    {
        var buf = new long[1 << 16];
        var ids = new int[buf.Length];
        for (long start = from; start < r.Count; start += buf.Length)
        {
            int n = (int)Math.Min(buf.Length, r.Count - start);
            r.Read(start, buf.AsSpan(0, n));
            for (int i = 0; i < n; i++) ids[i] = map((int)buf[i]);
            w.Write(ids.AsSpan(0, n));
        }
    }

    internal sealed record ScanResult(long Bytes, long Chars, HashSet<int>? CharSet, long Documents = 0, long Skipped = 0);

    /// <summary>
    /// What a prepare leaves in its folder besides a cache: its lock, its staging, the record of checked ids, and the
    /// token files of a prepare killed as it replaced a cache, before its meta.json landed (the old cache waits in the
    /// staging folder). A train.bin of another tool (nanoGPT's has no header) is not ours.
    /// </summary>
    static bool IsOurs(string path) => Path.GetFileName(path) is var name && (name == CacheReplacement.LockFile || CacheReplacement.IsStaging(name) || IsMetaLeftover(path)
        || name == TokenCache.VerifiedFile || (name is TokenCacheMeta.TrainFile or TokenCacheMeta.ValFile && TokenFile.IsOne(path)));

    /// <summary>A meta.json half written by a prepare killed as it wrote it (a new folder's first cache).</summary>
    static bool IsMetaLeftover(string path)
        => IO.AtomicFile.Leftovers(Path.Combine(Path.GetDirectoryName(path)!, TokenCacheMeta.FileName)).Any(l => Path.GetFileName(l) == Path.GetFileName(path));

    /// <summary>One prepare at a time per folder, by the kernel's lock, which goes with the process however it ends.</summary>
    static FileStream Hold(string dir)
    {
        try { return CacheReplacement.TryHold(dir) ?? throw new DataException(dir, $"token cache {dir} is being prepared by another process"); }
        catch (IOException e) { throw new DataException(dir, $"cannot prepare a token cache in {dir}: {e.Message}"); }   // a read-only folder is not one in use
    }

    /// <summary>The files are decoded as one stream: turn an offset in it into a file and an offset in that file.</summary>
    static InvalidUtf8Exception InFile(InvalidUtf8Exception e, IReadOnlyList<string> files)
    {
        var (file, offset) = Locate(files, e.Offset);
        return new InvalidUtf8Exception(offset, file);
    }

    /// <summary>
    /// The no-cut error for a text of <paramref name="files"/> of which <paramref name="read"/> bytes were read. A
    /// folder of text files is one text: the error names the file that reading had reached, with the bytes read of it,
    /// when the run began in it (all the run and what was read after it came from it); else the folder, with the bytes
    /// read of all.
    /// </summary>
    static DataException Uncut(UncutRunException e, string corpus, IReadOnlyList<string> files, long read)
    {
        if (!Directory.Exists(corpus)) return e.In(corpus, read);
        var (file, last) = Locate(files, read - 1);
        return e.HeldBytes <= last + 1 ? e.In(file, last + 1) : e.In(corpus, read);
    }

    /// <summary>
    /// The file that byte <paramref name="offset"/> of the files read one after another falls in, and the offset in it;
    /// an offset at or past the end (a sequence cut off by it, all of a file read) is the last file's.
    /// </summary>
    static (string File, long Offset) Locate(IReadOnlyList<string> files, long offset)
    {
        long start = 0;
        foreach (var file in files)
        {
            long length = new FileInfo(file).Length;
            if (offset < start + length) return (file, offset - start);
            start += length;
        }
        return (files[^1], offset - start + new FileInfo(files[^1]).Length);
    }

    static ScanResult Scan(IReadOnlyList<string> files, PrepareOptions o, IProgress<PrepareProgress>? progress, CancellationToken ct)
    {
        long total = files.Sum(f => new FileInfo(f).Length), bytes = 0, chars = 0;
        var decoder = new Utf8Runes(o.ReplaceInvalidUtf8);
        var seen = o.Tokenizer == TokenizerKind.Char ? new bool[0x110000] : null;
        var runes = new List<int>(seen is null ? 0 : o.ChunkBytes);
        foreach (var chunk in Corpus.Chunks(files, o.ChunkBytes))
        {
            ct.ThrowIfCancellationRequested();
            Count(chunk.Span, final: false);
            bytes += chunk.Length;
            progress?.Report(new(PreparePhase.Scan, bytes, total));
        }
        Count([], final: true);
        HashSet<int>? set = seen is null ? null : Enumerable.Range(0, seen.Length).Where(i => seen[i]).ToHashSet();
        return new ScanResult(bytes, chars, set);

        // Only char needs the values themselves, for its vocabulary; BPE needs them checked and counted.
        void Count(ReadOnlySpan<byte> chunk, bool final)
        {
            if (seen is null) { chars += decoder.Count(chunk, final); return; }
            runes.Clear();
            decoder.Decode(chunk, final, runes);
            chars += runes.Count;
            foreach (var r in System.Runtime.InteropServices.CollectionsMarshal.AsSpan(runes)) seen[r] = true;
        }
    }

    /// <summary>Tokenizes both splits; returns their UTF-8 lengths as encoded (after any U+FFFD replacement).</summary>
    static (long Train, long Val) Encode(IReadOnlyList<string> files, PrepareOptions o, ITokenizer tokenizer, long splitAt, long total,
                       TokenFileWriter train, TokenFileWriter val, IProgress<PrepareProgress>? progress, CancellationToken ct)
    {
        if (tokenizer is not CharTokenizer ch) return EncodeText(files, o, tokenizer, splitAt, total, train, val, progress, ct);
        var decoder = new Utf8Runes(o.ReplaceInvalidUtf8);
        var runes = new List<int>(o.ChunkBytes);
        var sink = new CharSink(ch, train, val, splitAt);
        long bytes = 0;
        foreach (var chunk in Corpus.Chunks(files, o.ChunkBytes))
        {
            ct.ThrowIfCancellationRequested();
            runes.Clear();
            decoder.Decode(chunk.Span, final: false, runes);
            sink.Add(runes);
            bytes += chunk.Length;
            progress?.Report(new(PreparePhase.Encode, bytes, total));
        }
        runes.Clear();
        decoder.Decode([], final: true, runes);
        sink.Add(runes);
        return (sink.TrainBytes, sink.ValBytes);
    }

    /// <summary>
    /// BPE: the text is decoded to UTF-16 (pass 1 has checked it) and encoded in pieces of about
    /// <see cref="OrderedEncoder.PieceChars"/> characters, each cut after a newline with non-space on both sides or
    /// before a space between two letters (<see cref="CutPoint"/>). No pre-tokenizer match spans such a cut, so the ids
    /// are those of the whole text, whatever the number of workers.
    /// </summary>
    static (long Train, long Val) EncodeText(IReadOnlyList<string> files, PrepareOptions o, ITokenizer tokenizer, long splitAt, long total,
                       TokenFileWriter train, TokenFileWriter val, IProgress<PrepareProgress>? progress, CancellationToken ct)
    {
        var text = new HeldText(o.ReplaceInvalidUtf8, o.ChunkBytes + 2 * OrderedEncoder.PieceChars, o.MaxUncutChars);
        long scalars = 0, bytes = 0, trainBytes = 0, valBytes = 0;
        var writer = train;
        Task? trainWritten = null;   // train.bin completing (flushed to disk) while val is encoded
        bool finished = false;
        using var encoder = new OrderedEncoder(tokenizer, endOfText: null, o.WorkerCount);
        try
        {
            try
            {
                foreach (var chunk in Corpus.Chunks(files, o.ChunkBytes))
                {
                    ct.ThrowIfCancellationRequested();
                    bytes += chunk.Length;   // first: an error names the bytes read, the chunk's included
                    Decode(chunk.Span, flush: false);
                    progress?.Report(new(PreparePhase.Encode, bytes, total));
                }
                Decode([], flush: true);
                text.Cut(text.Length, all: true, OrderedEncoder.Text.Rent).ForEach(Encode);
            }
            catch (DecoderFallbackException)
            {
                throw new DataException(o.Corpus, $"corpus {o.Corpus} changed while it was being prepared: it is no longer UTF-8");
            }
            catch (UncutRunException e) { throw Uncut(e, o.Corpus, files, bytes); }
            encoder.Finish();
            finished = true;
        }
        finally
        {
            // Its writer is disposed when this fails: not while it completes.
            if (!finished) try { trainWritten?.Wait(); } catch (AggregateException) { }
        }
        trainWritten?.GetAwaiter().GetResult();
        return (trainBytes, valBytes);

        void Decode(ReadOnlySpan<byte> chunk, bool flush)
        {
            int start = text.Length;
            var added = text.Decode(chunk, flush);
            long before = scalars;
            scalars += Scalars(added);
            if (writer == train && scalars > splitAt)
            {
                text.Cut(start + Utf16Length(added, splitAt - before), all: true, OrderedEncoder.Text.Rent).ForEach(Encode);   // the whole of train
                writer = val;
                // Batches are delivered in order: once this empty one is, every train id is written. Flushing train.bin
                // to disk then overlaps val's encoding rather than waiting at the end (35-45 ms for 100 MB of ids).
                encoder.Add([], _ => trainWritten = Task.Run(train.Complete));
            }
            text.Cut(text.Length, all: false, OrderedEncoder.Text.Rent).ForEach(Encode);
        }

        void Encode(OrderedEncoder.Text piece)
        {
            var to = writer;
            encoder.Add([piece], encoded =>
            {
                to.Write(encoded.Ids);
                if (to == train) trainBytes += encoded.Bytes;
                else valBytes += encoded.Bytes;
            });
        }
    }

    /// <summary>
    /// The length of the piece that <paramref name="text"/> starts with, cut where no pre-tokenizer match of these
    /// tokenizers can span the cut: after a lone newline (non-space on both sides), else before a space or a
    /// punctuation mark or symbol between two letters (<see cref="Joins"/>), within <see cref="OrderedEncoder.PieceChars"/>
    /// if there is one, else at the first beyond; −1 while the text is shorter than a piece or holds no such place.
    /// Space before the newline would be a different token at the end of a piece: GPT-2's <c>\s+(?!\S)</c> looks
    /// ahead, so "a\n\nB" is a, \n, \n, B whole but ends in one \n\n cut after it. A letter run never takes the
    /// space after it, and the space begins the next word's token (GPT-2's <c> ?\p{L}+</c>, cl100k's and o200k's
    /// optional non-letter before their letters), so a line with no newline in it is still cut into pieces, and
    /// encoded in parallel in flat memory.
    /// </summary>
    /// <param name="from">
    /// Where the search may resume: no place before it is a cut. After −1 that holds up to the text's last character
    /// (a cut depends on the characters either side only), so a caller that appends to a text without a cut passes
    /// its old length − 1 (see <see cref="NoCutBefore"/>) rather than searching it all again, which made a large
    /// file without a cut quadratic in its size.
    /// </param>
    internal static int CutPoint(ReadOnlySpan<char> text, int from = 0)
    {
        if (text.Length < OrderedEncoder.PieceChars) return -1;
        // o200k's punctuation token takes the newlines and slashes after it (` ?[^\s\p{L}\p{N}]+[\r\n/]*`): ";\n//" is one.
        static bool Lone(ReadOnlySpan<char> t, int i) => t[i] == '\n' && !char.IsWhiteSpace(t[i + 1]) && t[i + 1] != '/' && !char.IsWhiteSpace(t[i - 1]);
        static bool Between(ReadOnlySpan<char> t, int i) => (t[i] == ' ' || Joins(t[i])) && char.IsLetter(t[i - 1]) && char.IsLetter(t[i + 1]);
        int within = OrderedEncoder.PieceChars - 1;
        for (int i = within - 1; i >= from && i >= 1; i--)
            if (Lone(text, i)) return i + 1;
        for (int i = within - 1; i >= from && i >= 1; i--)
            if (Between(text, i)) return i;
        for (int i = Math.Max(within, from); i < text.Length - 1; i++)
        {
            if (Lone(text, i)) return i + 1;
            if (Between(text, i)) return i;
        }
        return -1;
    }

    /// <summary>
    /// Whether <paramref name="c"/>, between two letters, may begin a piece as a space may: a character that no
    /// letter token takes after its letters (not a letter, mark or digit, not white space, not the apostrophe that
    /// begins a contraction; half a surrogate pair never sits between two letters), and not an underscore, which
    /// joins the words of special tokens such as cl100k's <c>&lt;|fim_prefix|&gt;</c>: a cut inside one would split
    /// it into ordinary tokens (the special tokens of these tokenizers hold only letters and underscores between
    /// their bars). The letters before it end their token whole or cut, and it begins the next token whole or cut:
    /// GPT-2's <c> ?[^\s\p{L}\p{N}]+</c> takes it alone, cl100k's and o200k's take it as the one character before
    /// the next letters. CJK prose has no space between words ("天地玄黄，宇宙洪荒。") and often no lone newline
    /// (lines indented with U+3000, or CRLF): without this it would be one piece.
    /// </summary>
    static bool Joins(char c) => c != '\'' && !char.IsWhiteSpace(c) && char.GetUnicodeCategory(c) is
        not (System.Globalization.UnicodeCategory.NonSpacingMark or System.Globalization.UnicodeCategory.SpacingCombiningMark
             or System.Globalization.UnicodeCategory.EnclosingMark or System.Globalization.UnicodeCategory.ConnectorPunctuation)
        && !char.IsLetterOrDigit(c) && !char.IsNumber(c);

    /// <summary>
    /// What <see cref="CutPoint"/> may be told, as its <c>from</c>, of a text of <paramref name="length"/> characters
    /// in which it found no cut: nothing for a text shorter than a piece, which it does not search.
    /// </summary>
    internal static int NoCutBefore(int length) => length < OrderedEncoder.PieceChars ? 0 : length - 1;

    /// <summary>Scalar values in well-formed UTF-16: one per unit but for low surrogates.</summary>
    internal static int Scalars(ReadOnlySpan<char> text)
    {
        int n = text.Length;
        for (int i; (i = text.IndexOfAnyInRange('\uDC00', '\uDFFF')) >= 0; text = text[(i + 1)..]) n--;   // vectorised search
        return n;
    }

    /// <summary>UTF-16 units in the first <paramref name="scalars"/> scalar values of <paramref name="text"/>, or all of it.</summary>
    static int Utf16Length(ReadOnlySpan<char> text, long scalars)
    {
        int i = 0;
        for (long n = 0; n < scalars && i < text.Length; n++) i += char.IsHighSurrogate(text[i]) ? 2 : 1;
        return Math.Min(i, text.Length);
    }

    static int Utf8Length(int scalar) => scalar < 0x80 ? 1 : scalar < 0x800 ? 2 : scalar < 0x10000 ? 3 : 4;

    /// <summary>char: one id per scalar value, no text assembled.</summary>
    sealed class CharSink(CharTokenizer tokenizer, TokenFileWriter train, TokenFileWriter val, long splitAt)
    {
        long index;
        int[] ids = [];

        public void Add(List<int> runes)
        {
            if (ids.Length < runes.Count) ids = new int[runes.Count];
            var rs = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(runes);
            for (int i = 0; i < rs.Length; i++) ids[i] = tokenizer.IdOf(rs[i]);
            int toTrain = (int)Math.Clamp(splitAt - index, 0, runes.Count);
            for (int i = 0; i < rs.Length; i++)
                if (i < toTrain) TrainBytes += Utf8Length(rs[i]);
                else ValBytes += Utf8Length(rs[i]);
            train.Write(ids.AsSpan(0, toTrain));
            val.Write(ids.AsSpan(toTrain, runes.Count - toTrain));
            index += runes.Count;
        }

        public long TrainBytes { get; private set; }
        public long ValBytes { get; private set; }
    }

    static HashSet<int> UsedIds(string path)
    {
        using var r = new TokenFileReader(path);
        var used = new HashSet<int>();
        var buf = new long[1 << 16];
        for (long start = 0; start < r.Count; start += buf.Length)
        {
            var span = buf.AsSpan(0, (int)Math.Min(buf.Length, r.Count - start));
            r.Read(start, span);
            foreach (var id in span) used.Add((int)id);
        }
        return used;
    }

    static void Remap(string path, CompactTokenizer compact)
    {
        var remapped = path + ".compact";
        using (var r = new TokenFileReader(path))
        using (var w = new TokenFileWriter(remapped, TokenFile.BytesPerToken(compact.VocabSize)))
        {
            CopyIds(r, 0, w, compact.Map);
            w.Complete();
        }
        File.Move(remapped, path, overwrite: true);
    }
}
