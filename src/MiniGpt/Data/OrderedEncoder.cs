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
/// ids back in the order the batches were added (<see cref="OrderedWork{TState, TResult}"/>), so what is written
/// never depends on the number of workers.
/// </summary>
sealed class OrderedEncoder : IDisposable
{
    /// <summary>
    /// About how many characters to encode at a time. Pieces of a megabyte, as strings in the large object heap, made
    /// two workers only 1.4 times as fast as one; in pooled arrays, 128K characters were no faster than these 32K
    /// (docs/benchmarks.md). A batch of documents is about as long: JSON lines and Parquet rows share one pooled array,
    /// a text file's pieces among documents are strings.
    /// </summary>
    public const int PieceChars = 1 << 15;

    readonly int? endOfText;
    // A thread's ids go into a list of its own, for every batch it encodes: a list per batch allocated as much again as its ids.
    readonly OrderedWork<(ITokenizer Tokenizer, List<int> Ids), EncodedBatch> work;

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

        /// <summary>Hands a pooled text's array back: once, after the text's last use.</summary>
        public void ReturnPooled()
        {
            if (Pooled && MemoryMarshal.TryGetArray(Value, out var chars)) PooledArrays.Return(chars.Array!);
        }
    }

    public OrderedEncoder(ITokenizer tokenizer, int? endOfText, int workers)
    {
        this.endOfText = endOfText;
        work = new("encoder", (tokenizer, []), () => (tokenizer.ForAnotherThread(), []), workers, batch => PooledArrays.Return(batch.Rented));
    }

    /// <summary>Encodes <paramref name="texts"/>, then calls <paramref name="then"/> with the ids on this thread, after every batch added before.</summary>
    public void Add(IReadOnlyList<Text> texts, Action<EncodedBatch> then) => Add(() => texts, then);

    /// <summary>
    /// Encodes the texts that <paramref name="texts"/> makes, which it makes on the thread that encodes them (the
    /// parsing of a batch of documents, say), then calls <paramref name="then"/> as the other overload does.
    /// </summary>
    public void Add(Func<IReadOnlyList<Text>> texts, Action<EncodedBatch> then) => work.Add(s => Encode(s.Tokenizer, s.Ids, texts), then);

    /// <summary>Waits for every batch added and delivers it.</summary>
    public void Finish() => work.Finish();

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
            foreach (var text in texts) text.ReturnPooled();
        }
    }

    public void Dispose() => work.Dispose();
}
