using System.Collections.Concurrent;

namespace MiniGpt.Data;

/// <summary>
/// Runs work on a number of threads, each with a state of its own (a tokenizer, a buffer), and hands each result back
/// on the caller's thread in the order the work was added, so what is written never depends on the number of
/// workers. With one worker it runs on the caller's thread. At most a few items per worker are in flight, so memory
/// does not grow with the corpus.
/// </summary>
/// <typeparam name="TState">What one thread works with, made on that thread and used by it alone.</typeparam>
/// <typeparam name="TResult">What an item gives, delivered in order.</typeparam>
sealed class OrderedWork<TState, TResult> : IDisposable
{
    readonly TState callerState;
    readonly Action<TResult>? delivered;
    readonly int workers;
    readonly BlockingCollection<(Func<TState, TResult> Item, TaskCompletionSource<TResult> Done)>? work;
    readonly Queue<(Task<TResult> Result, Action<TResult> Then)> pending = new();
    readonly Thread[] threads = [];
    volatile bool stopping;

    /// <param name="name">The threads' name, numbered.</param>
    /// <param name="callerState">The caller's thread's state.</param>
    /// <param name="stateForThread">Each other thread's, called on that thread; its exception fails every item that thread takes.</param>
    /// <param name="delivered">Called with each result once its own continuation has run (to hand back what it rented).</param>
    public OrderedWork(string name, TState callerState, Func<TState> stateForThread, int workers, Action<TResult>? delivered = null)
    {
        (this.callerState, this.delivered, this.workers) = (callerState, delivered, workers);
        if (workers == 1) return;
        work = new();
        threads = Enumerable.Range(1, workers - 1).Select(i => new Thread(() => Work(stateForThread)) { IsBackground = true, Name = $"{name} {i}" }).ToArray();
        foreach (var t in threads) t.Start();
    }

    /// <summary>Runs <paramref name="item"/>, then calls <paramref name="then"/> with its result on this thread, after every item added before.</summary>
    public void Add(Func<TState, TResult> item, Action<TResult> then)
    {
        if (work is null) { Deliver(item(callerState), then); return; }
        var done = new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        work.Add((item, done));
        pending.Enqueue((done.Task, then));
        while (pending.Count > 0)
        {
            if (pending.Peek().Result.IsCompleted) Deliver();
            // Only a surplus: items for the other workers stay queued. When reading the corpus is most of this
            // thread's work (JSON Lines parsed here, as they once were; Parquet's decoding still is), a caller that
            // ran an item whenever one waited left the workers idle while it read the next ones (docs/benchmarks.md).
            else if (work.Count >= QueuedPerWorker * workers && work.TryTake(out var queued)) Run(callerState, queued.Item, queued.Done);
            else if (pending.Count > InFlightPerWorker * workers) HelpOrDeliver();   // memory's bound: help, or wait for the oldest
            else break;
        }
    }

    /// <summary>Items in flight per worker before the caller stops reading ahead.</summary>
    const int InFlightPerWorker = 8;

    /// <summary>
    /// Items per worker left queued before the caller runs one itself: enough for the other threads while it
    /// runs its own and reads and cuts the next megabyte. With one per worker, the second of two threads waited
    /// about 10 % of the time (docs/benchmarks.md).
    /// </summary>
    const int QueuedPerWorker = 3;

    /// <summary>Waits for every item added and delivers its result.</summary>
    public void Finish()
    {
        work?.CompleteAdding();
        while (pending.Count > 0) HelpOrDeliver();
    }

    /// <summary>
    /// The caller's thread is one of the workers: rather than wait for the oldest item, it runs one still
    /// waiting. On two cores, a third thread that only waited would take time from the two that work.
    /// </summary>
    void HelpOrDeliver()
    {
        if (!pending.Peek().Result.IsCompleted && work!.TryTake(out var queued)) Run(callerState, queued.Item, queued.Done);
        else Deliver();
    }

    void Deliver()
    {
        var (result, then) = pending.Dequeue();
        Deliver(result.GetAwaiter().GetResult(), then);   // rethrows a worker's exception as it was
    }

    void Deliver(TResult result, Action<TResult> then)
    {
        then(result);
        delivered?.Invoke(result);
    }

    void Work(Func<TState> stateForThread)
    {
        // Made here, in parallel with the others, and before taking an item: an item taken first would wait for it,
        // and every item after it with it, while the caller's thread works alone meanwhile.
        TState? own = default;
        Exception? failed = null;
        try { own = stateForThread(); }
        catch (Exception e) { failed = e; }
        foreach (var (item, done) in work!.GetConsumingEnumerable())
        {
            if (stopping) { done.TrySetCanceled(); continue; }
            if (failed is not null) { done.SetException(failed); continue; }
            Run(own!, item, done);
        }
    }

    static void Run(TState state, Func<TState, TResult> item, TaskCompletionSource<TResult> done)
    {
        try { done.SetResult(item(state)); }
        catch (Exception e) { done.SetException(e); }
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
