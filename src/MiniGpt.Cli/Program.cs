using System.CommandLine;
using MiniGpt.Cli.Commands;

namespace MiniGpt.Cli;

public static class Program
{
    public static int Main(string[] args) => BuildRoot().Parse(args).Invoke(new InvocationConfiguration
    {
        // Training saves a final checkpoint on Ctrl+C; System.CommandLine's 2 s default would cut that short.
        ProcessTerminationTimeout = null,
    });

    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("MiniGpt: train small GPT language models with TorchSharp, sample from them, and inspect training.");
        root.Subcommands.Add(PrepareCommand.Build());
        root.Subcommands.Add(TrainCommand.Build());
        root.Subcommands.Add(GenerateCommand.Build());
        root.Subcommands.Add(EvalCommand.Build());
        root.Subcommands.Add(BenchCommand.Build());
        root.Subcommands.Add(PlotCommand.Build());
        root.Subcommands.Add(RunsCommand.Build());
        return root;
    }
}
