using System.Text;

namespace MiniGpt.Data;

/// <summary>
/// How <see cref="CorpusPreparer"/> reads a corpus of documents. The last documents are val. With a BPE tokenizer
/// each document ends with the end-of-text token, as nanoGPT's openwebtext prepare does, all in one pass
/// (<see cref="EncodeAll"/>); char needs its vocabulary first, so it takes two (<see cref="Scan"/>, <see cref="Encode"/>),
/// and the documents of a split are joined by a separator, whose characters join the vocabulary.
/// </summary>
static class DocumentCorpus
{
    /// <summary>
    /// char, pass 1: checks and counts the documents, and collects the vocabulary, on o.Workers threads: each batch is
    /// made and its characters noted on the thread that takes it, into a set of that thread's own; problems are
    /// counted, skipped or reported in order.
    /// </summary>
    public static CorpusPreparer.ScanResult Scan(IReadOnlyList<string> files, PrepareOptions o, IProgress<PrepareProgress>? progress, CancellationToken ct)
    {
        var sets = new List<ulong[]>();
        long documents = 0, skipped = 0;
        var reported = new ProgressMeter(files, PreparePhase.Scan, progress);
        using (var scan = new OrderedWork<ulong[], (bool Ends, Document? Problem)[]>("scanner", NewSet(), NewSet, o.WorkerCount))
        {
            EachBatch(files, o, scan.Finish, ct, batch =>
            {
                scan.Add(seen => Note(batch, seen), made =>
                {
                    foreach (var (ends, problem) in made)
                    {
                        if (problem is not null) skipped += Skipped(problem, o);
                        else if (ends) documents++;
                    }
                });
                reported.Report(batch.File, batch.FileBytesRead, documents);
            });
            scan.Finish();
        }
        reported.Finish(documents);
        var vocabulary = new HashSet<int>(o.DocSeparator.EnumerateRunes().Select(r => r.Value));
        foreach (var seen in sets)   // every thread's, its thread joined
            for (int word = 0; word < seen.Length; word++)
                for (ulong bits = seen[word]; bits != 0; bits &= bits - 1)
                    vocabulary.Add(64 * word + System.Numerics.BitOperations.TrailingZeroCount(bits));
        // Chars 0: pass 2 counts each split's characters.
        return new(files.Sum(f => new FileInfo(f).Length), Chars: 0, vocabulary, documents, skipped);

        // A bit per scalar value, 139 KB: a thread per core of a large machine, each with a byte per value, would hold 1.1 MB each.
        ulong[] NewSet()
        {
            var seen = new ulong[0x110000 / 64];
            lock (sets) sets.Add(seen);
            return seen;
        }
    }

    /// <summary>
    /// A batch made, each text's scalar values marked in <paramref name="seen"/> as <see cref="CharTokenizer"/> reads
    /// them (its loop, inlined here: a shared inlined helper made char prepares slower, docs/benchmarks.md); what is
    /// left is whether each document ends there, or its problem.
    /// </summary>
    static (bool Ends, Document? Problem)[] Note(DocumentBatch batch, ulong[] seen)
    {
        var made = batch.ForEncoder();
        var noted = new (bool, Document?)[made.Count];
        for (int i = 0; i < made.Count; i++)
        {
            if (made[i].Text is not { } text) { noted[i] = (false, made[i].Problem); continue; }
            var chars = text.Value.Span;
            for (int j = 0; j < chars.Length; j++)
            {
                int scalar = chars[j];
                if (char.IsSurrogate(chars[j]))
                {
                    Rune.DecodeFromUtf16(chars[j..], out var rune, out int used);   // a pair, or a lone one as U+FFFD
                    (scalar, j) = (rune.Value, j + used - 1);
                }
                seen[scalar >> 6] |= 1UL << scalar;
            }
            noted[i] = (text.EndOfText, null);
            text.ReturnPooled();
        }
        return noted;
    }

    /// <summary>1, a problem skipped; without o.SkipBadDocuments, its exception.</summary>
    static int Skipped(Document problem, PrepareOptions o)
        => o.SkipBadDocuments ? 1 : throw new BadDocumentException(problem.File, problem.Where, problem.Problem!);

    /// <summary>About how many characters go to the encoder at a time.</summary>
    static int BatchChars(PrepareOptions o) => Math.Min(o.ChunkBytes, OrderedEncoder.PieceChars);

    /// <summary>
    /// Calls <paramref name="add"/> with each batch of the corpus in order. A file that cannot be read is reported only
    /// after <paramref name="finish"/> delivers the batches in flight: a bad document in them came first.
    /// </summary>
    static void EachBatch(IReadOnlyList<string> files, PrepareOptions o, Action finish, CancellationToken ct, Action<DocumentBatch> add)
    {
        using var read = Documents.ReadBatches(files, o.TextField, o.ReplaceInvalidUtf8, o.MaxLineBytes, o.MaxUncutChars, BatchChars(o)).GetEnumerator();
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            try { if (!read.MoveNext()) return; }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                finish();
                throw;
            }
            add(read.Current);
        }
    }

    /// <summary>
    /// Encodes <paramref name="batch"/>, made (its JSON lines parsed, say) on the thread that encodes it; then, on this
    /// thread and in order, calls <paramref name="then"/> with the ids and what was made: each document's text, or its problem.
    /// </summary>
    static void Encode(OrderedEncoder encoder, DocumentBatch batch,
        Action<EncodedBatch, IReadOnlyList<(OrderedEncoder.Text? Text, Document? Problem)>> then)
    {
        IReadOnlyList<(OrderedEncoder.Text? Text, Document? Problem)> made = [];
        encoder.Add(() => (made = batch.ForEncoder()).Where(m => m.Text is not null).Select(m => m.Text!.Value).ToList(), encoded => then(encoded, made));
    }

    /// <summary>
    /// char, pass 2: the first <paramref name="trainDocuments"/> documents to train, the rest to val, encoded on
    /// o.Workers threads in order; the separator's ids go before each document but the first of each split. Problems
    /// were reported or counted by pass 1.
    /// </summary>
    public static SplitSizes Encode(IReadOnlyList<string> files, PrepareOptions o, CharTokenizer tokenizer, long trainDocuments,
        TokenFileWriter train, TokenFileWriter val, IProgress<PrepareProgress>? progress, CancellationToken ct)
    {
        var sizes = new SplitSizes();
        var separator = tokenizer.Encode(o.DocSeparator).ToArray();
        long separatorChars = CorpusPreparer.Scalars(o.DocSeparator), separatorBytes = Encoding.UTF8.GetByteCount(o.DocSeparator);
        long index = 0;   // documents, not texts: a text file comes in pieces, and only its first starts a document
        bool within = false;
        using var encoder = new OrderedEncoder(tokenizer, endOfText: null, o.WorkerCount);
        var reported = new ProgressMeter(files, PreparePhase.Encode, progress);
        EachBatch(files, o, encoder.Finish, ct, batch =>
        {
            Encode(encoder, batch, (encoded, made) =>
            {
                int text = 0, at = 0;
                foreach (var (t, problem) in made)
                {
                    if (t is not { } piece)
                    {
                        Skipped(problem!, o);   // counted by pass 1, or (not skipped) a file that changed since
                        continue;
                    }
                    var e = encoded.Each[text++];
                    if (!within && index != 0 && index != trainDocuments) Write(index < trainDocuments, separator, separatorChars, separatorBytes);
                    Write(index < trainDocuments, encoded.Ids.Slice(at, e.Ids), e.Chars, e.Bytes);
                    at += e.Ids;
                    (within, index) = (!piece.EndOfText, piece.EndOfText ? index + 1 : index);
                }
            });
            reported.Report(batch.File, batch.FileBytesRead, index);
        });
        encoder.Finish();
        reported.Finish(index);
        return sizes;

        void Write(bool intoTrain, ReadOnlySpan<int> ids, long chars, long bytes)
        {
            (intoTrain ? train : val).Write(ids);
            if (intoTrain) (sizes.TrainChars, sizes.TrainBytes) = (sizes.TrainChars + chars, sizes.TrainBytes + bytes);
            else (sizes.ValChars, sizes.ValBytes) = (sizes.ValChars + chars, sizes.ValBytes + bytes);
        }
    }

    /// <summary>
    /// The one pass of a BPE tokenizer, which needs no vocabulary first: every document is read, checked, counted and
    /// encoded into <paramref name="all"/>, and where each ends (ids, scalar values, bytes so far, three int64s) goes
    /// to <paramref name="endsPath"/>, so that the split, known only once the documents are counted, can be made after.
    /// </summary>
    public static (long Documents, long Skipped) EncodeAll(IReadOnlyList<string> files, PrepareOptions o, ITokenizer tokenizer,
        TokenFileWriter all, string endsPath, IProgress<PrepareProgress>? progress, CancellationToken ct)
    {
        int endOfText = EndOfTextId(tokenizer);
        using var ends = new BinaryWriter(new FileStream(endsPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16));
        long documents = 0, skipped = 0, ids = 0, chars = 0, bytes = 0;
        using (var encoder = new OrderedEncoder(tokenizer, endOfText, o.WorkerCount))
        {
            var reported = new ProgressMeter(files, PreparePhase.Encode, progress);
            EachBatch(files, o, encoder.Finish, ct, batch =>
            {
                Encode(encoder, batch, (encoded, made) =>
                {
                    all.Write(encoded.Ids);
                    int text = 0;
                    foreach (var (t, problem) in made)
                    {
                        if (problem is not null)
                        {
                            skipped += Skipped(problem, o);
                            continue;
                        }
                        var e = encoded.Each[text++];
                        (ids, chars, bytes) = (ids + e.Ids, chars + e.Chars, bytes + e.Bytes);
                        if (!t!.Value.EndOfText) continue;   // a document ends only with its last piece
                        documents++;
                        ends.Write(ids);
                        ends.Write(chars);
                        ends.Write(bytes);
                    }
                });
                reported.Report(batch.File, batch.FileBytesRead, documents);
            });
            encoder.Finish();
            reported.Finish(documents);
        }
        return (documents, skipped);
    }

    /// <summary>Where document <paramref name="index"/> (from 0) ends, as <see cref="EncodeAll"/> recorded it.</summary>
    public static (long Ids, long Chars, long Bytes) EndOf(string endsPath, long index)
    {
        using var f = new FileStream(endsPath, FileMode.Open, FileAccess.Read);
        f.Position = index * 24;
        Span<byte> b = stackalloc byte[24];
        f.ReadExactly(b);
        return (System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(b), System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(b[8..]),
            System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(b[16..]));
    }

    /// <summary>The end-of-text id that ends each document with a BPE tokenizer, which must have one.</summary>
    static int EndOfTextId(ITokenizer tokenizer)
        => Tokenizers.EndOfTextId(tokenizer) ?? throw new ConfigException("tokenizer", Choices.Name(tokenizer.Kind),
            $"has no end-of-text token {LibraryTokenizer.EndOfText} to end each document with; a corpus of documents needs one");

    /// <summary>Characters (scalar values) and UTF-8 bytes of each split, as encoded.</summary>
    public sealed class SplitSizes
    {
        public long TrainChars, ValChars, TrainBytes, ValBytes;
    }

    /// <summary>Reports progress by the bytes of the files read so far, at most every 4 MB.</summary>
    sealed class ProgressMeter(IReadOnlyList<string> files, PreparePhase phase, IProgress<PrepareProgress>? progress)
    {
        readonly Dictionary<string, long> before = Offsets(files);
        readonly long total = files.Sum(f => new FileInfo(f).Length);
        long last = -1;

        public void Report(string file, long fileBytesRead, long documents)
        {
            // The last file's end is Finish's to report: reading ahead gets there before its last documents are counted.
            long done = before[file] + fileBytesRead;
            if (progress is null || done - last < (4 << 20) || done >= total) return;
            last = done;
            progress.Report(new(phase, done, total, documents));
        }

        /// <summary>The pass's end, with every document counted.</summary>
        public void Finish(long documents) => progress?.Report(new(phase, total, total, documents));

        static Dictionary<string, long> Offsets(IReadOnlyList<string> files)
        {
            var offsets = new Dictionary<string, long>();
            long start = 0;
            foreach (var f in files) { offsets[f] = start; start += new FileInfo(f).Length; }
            return offsets;
        }
    }
}
