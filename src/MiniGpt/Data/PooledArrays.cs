using System.Buffers;

namespace MiniGpt.Data;

/// <summary>
/// Arrays from the shared pools, which round a length up to a power of two and keep what comes back, up to
/// <see cref="MostPooled"/> elements; a longer one (a run of text with no place to cut, a line of hundreds of
/// megabytes) is an array of its own, left to the collector.
/// </summary>
static class PooledArrays
{
    /// <summary>The longest array taken from a pool.</summary>
    public const int MostPooled = 1 << 20;

    /// <summary>An array of at least <paramref name="length"/> elements: from the pool, or of its own past <see cref="MostPooled"/>.</summary>
    public static T[] Rent<T>(int length) => length <= MostPooled ? ArrayPool<T>.Shared.Rent(length) : new T[length];

    /// <summary>
    /// Gives back an array from <see cref="Rent{T}"/>, once: to its pool, or to the collector. Its length tells which:
    /// the pool's are at most <see cref="MostPooled"/> long, a power of two; the others longer.
    /// </summary>
    public static void Return<T>(T[] array)
    {
        if (array.Length <= MostPooled) ArrayPool<T>.Shared.Return(array);
    }
}
