namespace MiniGpt.Tests.TestSupport;

/// <summary>What a run allocates on the test's thread per byte of its input, beyond what it allocates whatever its size.</summary>
public static class Allocations
{
    /// <summary>
    /// Runs <paramref name="copies"/> of 1 (code and caches made once), 2 and 6 copies of an input: each call makes its
    /// input, unmeasured, and returns the run, measured, which gives the input's bytes. A run's fixed allocations (buffers,
    /// a tokenizer) cancel out between 2 and 6.
    /// </summary>
    public static (double PerByte, string Detail) PerByte(Func<int, Func<long>> copies)
    {
        Measure(1);
        var (small, smallBytes) = Measure(2);
        var (large, largeBytes) = Measure(6);
        double perByte = (double)(large - small) / (largeBytes - smallBytes);
        return (perByte, $"{perByte:F3} bytes allocated per byte ({small:N0} for {smallBytes:N0}, {large:N0} for {largeBytes:N0})");

        (long Allocated, long Bytes) Measure(int n)
        {
            var run = copies(n);
            long before = GC.GetAllocatedBytesForCurrentThread();
            long bytes = run();
            return (GC.GetAllocatedBytesForCurrentThread() - before, bytes);
        }
    }
}
