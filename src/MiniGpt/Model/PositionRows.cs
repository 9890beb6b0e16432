namespace MiniGpt.Model;

/// <summary>
/// How many positions a computed position table (sinusoidal, rotary) or a KV cache holds: a few at first, then twice
/// as many each time a call reaches past them, up to block_size (the cache's capacity). Training reaches block_size at
/// its first step; a short sample never builds rows it does not read.
/// </summary>
static class PositionRows
{
    const long Initial = 256;

    public static long First(long blockSize) => Math.Min(blockSize, Initial);

    /// <summary>Rows for a call that needs <paramref name="needed"/> when <paramref name="held"/> are held.</summary>
    public static long Grown(long held, long needed, long blockSize) => Math.Min(blockSize, Math.Max(needed, 2 * held));
}
