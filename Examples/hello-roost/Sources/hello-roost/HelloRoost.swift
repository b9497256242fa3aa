import HelloRoost
import RoostCLI

/// The application's executable: `hello-roost runner`, `hello-roost workflow start Greeting …` and every other
/// `roost` subcommand, for its own workflows.
@main
enum HelloRoostMain {
    static func main() async {
        await RoostCommand.main(application: .hello)
    }
}
