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
    /// <summary>char, pass 1: checks and counts the documents, and collects the vocabulary.</summary>
    public static CorpusPreparer.ScanResult Scan(IReadOnlyList<string> files, PrepareOptions o, IProgress<PrepareProgress>? progress, CancellationToken ct)
    {
        var seen = new bool[0x110000];
        long documents = 0, skipped = 0;
        var reported = new ProgressMeter(files, PreparePhase.Scan, progress);
        foreach (var d in Documents.Read(files, o.TextField, o.ReplaceInvalidUtf8, o.SkipBadDocuments, o.MaxLineBytes, o.MaxUncutChars))
        {
            ct.ThrowIfCancellationRequested();
            if (d.Text is null) { skipped++; continue; }
            if (d.Ends) documents++;
            foreach (var r in d.Text.EnumerateRunes()) seen[r.Value] = true;   // pass 2 counts each split's characters
            reported.Report(d, documents);
        }
        reported.Finish(documents);
        foreach (var r in o.DocSeparator.EnumerateRunes()) seen[r.Value] = true;
        return new(files.Sum(f => new FileInfo(f).Length), Chars: 0, Enumerable.Range(0, seen.Length).Where(i => seen[i]).ToHashSet(), documents, skipped);
    }

    /// <summary>About how many characters go to the encoder at a time.</summary>
    static int BatchChars(PrepareOptions o) => Math.Min(o.ChunkBytes, OrderedEncoder.PieceChars);

    /// <summary>char, pass 2: the first <paramref name="trainDocuments"/> documents to train, the rest to val, encoded on o.Workers threads in order.</summary>
    public static SplitSizes Encode(IReadOnlyList<string> files, PrepareOptions o, CharTokenizer tokenizer, long trainDocuments,
        TokenFileWriter train, TokenFileWriter val, IProgress<PrepareProgress>? progress, CancellationToken ct)
    {
        var sizes = new SplitSizes();
        using var encoder = new OrderedEncoder(tokenizer, endOfText: null, o.WorkerCount);
        var batch = new List<string>();
        long index = 0, batchChars = 0;   // index counts documents, not texts: a text file comes in pieces
        // Only a document's first piece starts it: the separator goes before it, and the split may fall there.
        bool within = false, toTrain = true;
        var reported = new ProgressMeter(files, PreparePhase.Encode, progress);
        foreach (var d in Documents.Read(files, o.TextField, o.ReplaceInvalidUtf8, o.SkipBadDocuments, o.MaxLineBytes, o.MaxUncutChars))
        {
            ct.ThrowIfCancellationRequested();
            if (d.Text is null) continue;
            var text = d.Text;
            if (!within)
            {
                if (index == trainDocuments) Flush();   // a batch never straddles the split
                toTrain = index < trainDocuments;
                // The char separator joins documents within a split: before each but the first of train and of val.
                if (index != 0 && index != trainDocuments) text = o.DocSeparator + text;
            }
            batch.Add(text);
            batchChars += text.Length;
            (within, index) = (!d.Ends, d.Ends ? index + 1 : index);
            if (DocumentBatch.Full(batchChars, batch.Count, BatchChars(o))) Flush();
            reported.Report(d, index);
        }
        Flush();
        encoder.Finish();
        reported.Finish(index);
        return sizes;

        void Flush()
        {
            if (batch.Count == 0) return;
            bool intoTrain = toTrain;   // the batch's split, kept: it may be delivered after the next document's began
            encoder.Add(batch.Select(t => new OrderedEncoder.Text(t, EndOfText: false)).ToList(), encoded =>
            {
                (intoTrain ? train : val).Write(encoded.Ids);
                if (intoTrain) (sizes.TrainChars, sizes.TrainBytes) = (sizes.TrainChars + encoded.Chars, sizes.TrainBytes + encoded.Bytes);
                else (sizes.ValChars, sizes.ValBytes) = (sizes.ValChars + encoded.Chars, sizes.ValBytes + encoded.Bytes);
            });
            batch = [];
            batchChars = 0;
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
            using var read = Documents.ReadBatches(files, o.TextField, o.ReplaceInvalidUtf8, o.MaxLineBytes, o.MaxUncutChars, BatchChars(o)).GetEnumerator();
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                try { if (!read.MoveNext()) break; }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A bad document in a batch still in flight came first: delivered, it is the one reported.
                    encoder.Finish();
                    throw;
                }
                var batch = read.Current;
                IReadOnlyList<(OrderedEncoder.Text? Text, Document? Problem)> made = [];
                // Made (a batch of JSON lines parsed) on the thread that encodes it; counted here, in order.
                encoder.Add(() => (made = batch.ForEncoder()).Where(m => m.Text is not null).Select(m => m.Text!.Value).ToList(), encoded =>
                {
                    all.Write(encoded.Ids);
                    int text = 0;
                    foreach (var (t, problem) in made)
                    {
                        if (problem is not null)
                        {
                            if (!o.SkipBadDocuments) throw new BadDocumentException(problem.File, problem.Where, problem.Problem!);
                            skipped++;
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
            }
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

        public void Report(Document d, long documents) => Report(d.File, d.FileBytesRead, documents);

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
