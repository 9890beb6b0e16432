using System.Diagnostics;

namespace MiniGpt.Tests.TestSupport;

/// <summary>Named pipes no one writes to: opening one to read waits for a writer, for ever.</summary>
public static class Fifo
{
    public static string Make(string path)
    {
        using var p = Process.Start(new ProcessStartInfo("mkfifo", [path]) { UseShellExecute = false })!;
        p.WaitForExit();
        Assert.True(p.ExitCode == 0 && File.Exists(path), $"mkfifo {path} failed");
        return path;
    }

    /// <summary>
    /// <paramref name="read"/>'s result or exception, which must come without waiting on <paramref name="fifo"/>: if it
    /// has not come back in 20 s, the pipe is opened for reading and writing at once (which on Linux waits for no one)
    /// to let a waiting reader or writer go, and the test fails.
    /// </summary>
    public static T Within<T>(string fifo, Func<T> read)
    {
        var task = Task.Run(read);
        if (!((IAsyncResult)task).AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(20)))
        {
            using (new FileStream(fifo, FileMode.Open, FileAccess.ReadWrite)) { }
            Assert.Fail($"reading {fifo} waited for a writer");
        }
        return task.GetAwaiter().GetResult();
    }
}
