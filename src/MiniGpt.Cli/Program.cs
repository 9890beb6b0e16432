using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using MiniGpt.Cli.Commands;

namespace MiniGpt.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        if (StandardOutput.Closed())
        {
            Console.Error.WriteLine("error: standard output is closed or not writable: give minigpt somewhere to write (> FILE, or > /dev/null)");
            return (int)ExitCode.Failed;
        }
        var parse = BuildRoot().Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is not HelpAction and not ConfigKeysHelp)
        {
            foreach (var e in parse.Errors) Console.Error.WriteLine($"error: {e.Message}");
            Console.Error.WriteLine($"see '{string.Join(' ', parse.CommandResult.Command.Name == parse.RootCommandResult.Command.Name ? ["minigpt"] : ["minigpt", parse.CommandResult.Command.Name])} --help'");
            return (int)ExitCode.Usage;
        }
        return parse.Invoke(new InvocationConfiguration
        {
            // Training saves a final checkpoint on Ctrl+C; System.CommandLine's 2 s default would cut that short.
            ProcessTerminationTimeout = null,
        });
    }

    public static RootCommand BuildRoot()
    {
        var root = new RootCommand("MiniGpt: train small GPT language models with TorchSharp, sample from them, and inspect training.");
        var train = TrainCommand.Build();
        root.Subcommands.Add(PrepareCommand.Build());
        root.Subcommands.Add(train);
        root.Subcommands.Add(GenerateCommand.Build());
        root.Subcommands.Add(EvalCommand.Build());
        root.Subcommands.Add(BenchCommand.Build());
        root.Subcommands.Add(ExportCommand.Build());
        root.Subcommands.Add(PlotCommand.Build());
        root.Subcommands.Add(RunsCommand.Build());
        var help = root.Options.OfType<HelpOption>().Single();
        help.Action = new ConfigKeysHelp((SynchronousCommandLineAction)help.Action!, train);
        return root;
    }
}
