using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;

namespace MiniGpt.Data;

/// <summary>The ids of a batch of texts, each followed by the end-of-text id where it asks for one, with the batch's size.</summary>
/// <param name="Rented">The ids, in an array from the shared pool that goes back to it once the batch is delivered.</param>
/// <param name="Each">For each text: its ids (the end of text included), Unicode scalar values and UTF-8 bytes.</param>
sealed record EncodedBatch(int[] Rented, int Count, (int Ids, long Chars, long Bytes)[] Each)
{
    /// <summary>The ids: valid only while the batch is delivered.</summary>
    public ReadOnlySpan<int> Ids => Rented.AsSpan(0, Count);

    /// <summary>Unicode scalar values in the texts.</summary>
    public long Chars => Each.Sum(e => e.Chars);

    /// <summary>Their UTF-8 length.</summary>
    public long Bytes => Each.Sum(e => e.Bytes);
}

/// <summary>
/// Encodes batches of text on a number of worker threads, each with a tokenizer of its own, and hands each batch's
/// ids back in the order the batches were added, so what is written never depends on the number of workers. With
/// one worker it encodes on the caller's thread. At most a few batches per worker are in flight, so memory does not
/// grow with the corpus.
/// </summary>
sealed class OrderedEncoder : IDisposable
{
    /// <summary>
    /// About how many characters to encode at a time. Pieces of a megabyte, as strings in the large object heap, made
    /// two workers only 1.4 times as fast as one; in pooled arrays, 128K characters were no faster than these 32K
    /// (docs/benchmarks.md). A batch of documents is about as long: JSON lines and Parquet rows share one pooled array,
    /// other texts (a text file's pieces among documents, anything the char tokenizer encodes) are strings.
    /// </summary>
    public const int PieceChars = 1 << 15;

    readonly ITokenizer tokenizer;
    readonly int? endOfText;
    readonly int workers;
    readonly BlockingCollection<(Func<IReadOnlyList<Text>> Texts, TaskCompletionSource<EncodedBatch> Done)>? work;
    readonly Queue<(Task<EncodedBatch> Encoded, Action<EncodedBatch> Then)> pending = new();
    readonly Thread[] threads = [];
    readonly List<int> callerIds = [];   // the caller's thread's, for every batch it encodes: a list per batch allocated as much again as its ids
    volatile bool stopping;


    /// <summary>
    /// A text to encode, and whether the end-of-text id (if the encoder has one) follows its ids: it ends a document.
    /// <paramref name="Pooled"/>: its characters are in an array from <see cref="PooledArrays"/>, returned once it is
    /// encoded (texts that share one array, slices of a batch's, return it with the last of them alone).
    /// </summary>
    public readonly record struct Text(ReadOnlyMemory<char> Value, bool EndOfText, bool Pooled = false)
    {
        public Text(string Value, bool EndOfText) : this(Value.AsMemory(), EndOfText) { }

        /// <summary>
        /// A copy of <paramref name="piece"/> in an array from <see cref="PooledArrays"/>. Pieces of text and their ids
        /// allocated about 4.7 bytes per byte of corpus; each collection then copied those in flight, while both
        /// threads of two workers waited (docs/benchmarks.md).
        /// </summary>
        public static Text Rent(ReadOnlySpan<char> piece)
        {
            var chars = PooledArrays.Rent<char>(piece.Length);
            piece.CopyTo(chars);
            return new(chars.AsMemory(0, piece.Length), EndOfText: false, Pooled: true);
        }
    }

    public OrderedEncoder(ITokenizer tokenizer, int? endOfText, int workers)
    {
        (this.tokenizer, this.endOfText, this.workers) = (tokenizer, endOfText, workers);
        if (workers == 1) return;
        work = new();
        threads = Enumerable.Range(1, workers - 1).Select(i => new Thread(() => Work(i)) { IsBackground = true, Name = $"encoder {i}" }).ToArray();
        foreach (var t in threads) t.Start();
    }

    /// <summary>Encodes <paramref name="texts"/>, then calls <paramref name="then"/> with the ids on this thread, after every batch added before.</summary>
    public void Add(IReadOnlyList<Text> texts, Action<EncodedBatch> then) => Add(() => texts, then);

    /// <summary>
    /// Encodes the texts that <paramref name="texts"/> makes, which it makes on the thread that encodes them (the
    /// parsing of a batch of documents, say), then calls <paramref name="then"/> as the other overload does.
    /// </summary>
    public void Add(Func<IReadOnlyList<Text>> texts, Action<EncodedBatch> then)
    {
        if (work is null) { Deliver(Encode(tokenizer, callerIds, texts), then); return; }
        var done = new TaskCompletionSource<EncodedBatch>(TaskCreationOptions.RunContinuationsAsynchronously);
        work.Add((texts, done));
        pending.Enqueue((done.Task, then));
        while (pending.Count > 0)
        {
            if (pending.Peek().Encoded.IsCompleted) Deliver();
            // Only a surplus: batches for the other workers stay queued. When reading the corpus is most of this
            // thread's work (JSON Lines parsed here, as they once were; Parquet's decoding still is), a caller that
            // encoded whenever a batch waited left the workers idle while it read the next ones (docs/benchmarks.md).
            else if (work.Count >= QueuedPerWorker * workers && work.TryTake(out var item)) Run(tokenizer, callerIds, item.Texts, item.Done);
            else if (pending.Count > InFlightPerWorker * workers) HelpOrDeliver();   // memory's bound: help, or wait for the oldest
            else break;
        }
    }

    /// <summary>Batches in flight per worker before the caller stops reading ahead.</summary>
    const int InFlightPerWorker = 8;

    /// <summary>
    /// Batches per worker left queued before the caller encodes one itself: enough for the other threads while it
    /// encodes its own and reads and cuts the next megabyte. With one per worker, the second of two threads waited
    /// about 10 % of the time (docs/benchmarks.md).
    /// </summary>
    const int QueuedPerWorker = 3;

    /// <summary>Waits for every batch added and delivers it.</summary>
    public void Finish()
    {
        work?.CompleteAdding();
        while (pending.Count > 0) HelpOrDeliver();
    }

    /// <summary>
    /// The caller's thread is one of the workers: rather than wait for the oldest batch, it encodes one still
    /// waiting. On two cores, a third thread that only waited would take time from the two that encode.
    /// </summary>
    void HelpOrDeliver()
    {
        if (!pending.Peek().Encoded.IsCompleted && work!.TryTake(out var item)) Run(tokenizer, callerIds, item.Texts, item.Done);
        else Deliver();
    }

    void Deliver()
    {
        var (encoded, then) = pending.Dequeue();
        Deliver(encoded.GetAwaiter().GetResult(), then);   // rethrows a worker's exception as it was
    }

    static void Deliver(EncodedBatch batch, Action<EncodedBatch> then)
    {
        then(batch);
        PooledArrays.Return(batch.Rented);
    }

    void Work(int index)
    {
        // Built here, in parallel with the others, and before taking a batch: a batch taken first would wait for it,
        // and every batch after it with it, while the caller's thread encodes alone meanwhile.
        ITokenizer? own = null;
        Exception? failed = null;
        var ids = new List<int>();
        try { own = tokenizer.ForAnotherThread(); }
        catch (Exception e) { failed = e; }
        foreach (var (texts, done) in work!.GetConsumingEnumerable())
        {
            if (stopping) { done.TrySetCanceled(); continue; }
            if (failed is not null) { done.SetException(failed); continue; }
            Run(own!, ids, texts, done);
        }
    }

    void Run(ITokenizer t, List<int> ids, Func<IReadOnlyList<Text>> texts, TaskCompletionSource<EncodedBatch> done)
    {
        try { done.SetResult(Encode(t, ids, texts)); }
        catch (Exception e) { done.SetException(e); }
    }

    /// <summary>
    /// Each text's ids, appended to the thread's own list <paramref name="ids"/>, then copied into an array from the
    /// shared pool; pooled texts go back to it.
    /// </summary>
    EncodedBatch Encode(ITokenizer t, List<int> ids, Func<IReadOnlyList<Text>> make)
    {
        var texts = make();
        try
        {
            ids.Clear();
            var each = new (int, long, long)[texts.Count];
            for (int i = 0; i < texts.Count; i++)
            {
                var text = texts[i].Value.Span;
                int before = ids.Count;
                t.Encode(text, ids);
                if (endOfText is { } eot && texts[i].EndOfText) ids.Add(eot);
                each[i] = (ids.Count - before, CorpusPreparer.Scalars(text), Encoding.UTF8.GetByteCount(text));
            }
            var rented = PooledArrays.Rent<int>(ids.Count);
            CollectionsMarshal.AsSpan(ids).CopyTo(rented);
            var batch = new EncodedBatch(rented, ids.Count, each);
            if (ids.Capacity > PooledArrays.MostPooled) { ids.Clear(); ids.Capacity = 0; }   // a run's, held no longer
            return batch;
        }
        finally
        {
            foreach (var text in texts)
                if (text.Pooled && MemoryMarshal.TryGetArray(text.Value, out var chars)) PooledArrays.Return(chars.Array!);
        }
    }

    public void Dispose()
    {
        if (work is null) return;
        stopping = true;
        work.CompleteAdding();
        foreach (var t in threads) t.Join();
        work.Dispose();
    }
}
