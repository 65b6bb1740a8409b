/*
 * A declarative-pipeline harness, for tests only: it evaluates a Jenkinsfile with the real Groovy
 * runtime (Debian's groovy 2.4, the Groovy line Jenkins core embeds) under a small DSL that models
 * the sections and steps the project's Jenkinsfile uses, and prints a JSON trace per scenario.
 *
 *   groovy Harness.groovy scenarios.json  ->  stdout: [trace, ...]   (exit 2: a scenario or harness error)
 *
 * A scenario: {jenkinsfile, branch, params, credentials: {id: {type, username, password, usernameSecret}},
 * sh: [{match: <substring of the script>, exit: n}], input: ["proceed"|"abort", ...],
 * junit: null | {tests, failures}, previousResult, mode: "plan" | "run", workspace, forceEnv,
 * parallelOrder: {parallel stage: [branch names in the order they run]}}.
 * In plan mode `sh` is only recorded (exit code 0 unless a rule matches); in run mode it runs `sh -xe`
 * in the workspace with the process environment plus the pipeline's, as Jenkins' `sh` step does, except the
 * scripts a rule matches (stubbed, recorded with stubbed: true); a real step's event keeps the last lines of its
 * output (tail), the end of its console log. forceEnv is test-only, not Jenkins: variables
 * set over the pipeline's own `environment` (the run-mode test's PROJECT_ENV=local, which ENV cannot choose).
 *
 * The semantics it models, and where Jenkins documents them (https://www.jenkins.io/doc/book/pipeline/syntax/
 * "Pipeline Syntax" unless said otherwise; cited from memory of those pages):
 *  - Validation before anything runs. Declarative Pipelines are validated when the run starts, before any step:
 *    a Groovy syntax error, an undefined section, an unknown option ("Invalid option type"), trigger, parameter
 *    type, `when` condition ("Unknown conditional") or `post` condition ("Invalid condition"), a missing
 *    top-level `agent` ("Missing required section 'agent'"), a repeated section, duplicate stage names
 *    ("Duplicate stage name"), a stage without `steps` ("Nothing to execute within stage") and an unknown step
 *    inside `steps`/`post` ("No such DSL method ... found among steps") all fail the run with no step run.
 *    Here an "unknown step" is any call with an implicit receiver in `steps`/`post` (also inside `script`)
 *    that the harness does not model: stricter than Jenkins, which checks `script` blocks only at runtime.
 *  - `parameters`: "The values for these user-specified parameters are made available to Pipeline steps via
 *    the params object"; Jenkins also exports every build parameter to the steps' environment, as strings
 *    (booleanParam -> "true"/"false"). A build without chosen values (a push) takes the defaults; a
 *    `choice`'s default is its first choice.
 *  - `environment`: "a sequence of key-value pairs which will be defined as environment variables for all
 *    steps, or stage-specific steps"; `credentials('id')` in it binds a secret text to VAR, or a username and
 *    password to VAR (user:password), VAR_USR and VAR_PSW.
 *  - `withCredentials` (Credentials Binding plugin, "Injecting secrets into builds"): binds the credential's
 *    values to environment variables only inside the block and masks them as **** in the build log (each sh
 *    event lists the credential ids bound around it: `credentials`); an id
 *    that the store does not hold fails the step ("Could not find credentials entry with ID"). Jenkins warns
 *    when a secret reaches `sh` through Groovy string interpolation; the trace lists that warning. The
 *    username of a usernamePassword credential is masked only when the credential treats it as secret.
 *    A `file` binding (a Secret file credential) copies the file to a temporary location and sets the
 *    variable to that path, which is masked like any bound value.
 *  - `when`: `branch` "Execute the stage when the branch being built matches the branch pattern (ANT style
 *    path glob)" against BRANCH_NAME (multibranch only); `expression` "when the specified Groovy expression
 *    evaluates to true"; `allOf`, `anyOf`, `not`, `environment name:, value:`, `equals expected:, actual:`;
 *    several conditions in one `when` must all hold. A stage whose condition is false is "skipped due to when
 *    conditional".
 *  - A step that fails (`sh` "script returned exit code N", `error`) fails its stage and the build (FAILURE);
 *    the later stages are "skipped due to earlier failure(s)"; the `post` section still runs.
 *  - `post`: conditions are run in Jenkins' fixed order, whatever their order in the file: always, changed,
 *    fixed, regression, aborted, failure, success, unstable, unsuccessful, notBuilt, cleanup; each is
 *    evaluated against the result as it stands when it is reached; a failing step in one marks the build
 *    FAILURE and the others still run. Stage-level `post` runs at the end of its stage.
 *  - `input` (Pipeline: Input Step plugin): pauses for a person; "Abort" ends the build ABORTED, later stages
 *    are skipped, and post `aborted` (not `failure`) runs.
 *  - `junit` (JUnit plugin): a report with failed tests marks the build UNSTABLE (results only get worse:
 *    SUCCESS < UNSTABLE < FAILURE < NOT_BUILT < ABORTED); no report file fails the step unless
 *    allowEmptyResults. UNSTABLE does not skip later stages unless `options { skipStagesAfterUnstable() }`.
 *  - `options` (timestamps, timeout, disableConcurrentBuilds, buildDiscarder(logRotator), skipStagesAfterUnstable,
 *    parallelsAlwaysFailFast) and `triggers` (githubPush, cron, pollSCM) are checked and recorded; only
 *    skipStagesAfterUnstable and parallelsAlwaysFailFast act.
 *  - Nested stages ("Sequential Stages", "Parallel"): a stage holds exactly one of `steps`, `parallel` or
 *    `stages`; a parallel branch may hold `stages` but no `parallel` of its own; stage names are unique over
 *    the whole pipeline; a parent's `when` false skips every stage in it, and its `environment` reaches them.
 *    "failFast true" in a parallel stage (or the option) "forces all parallel stages to abort when any one of
 *    them fails". Jenkins runs the branches concurrently; the harness runs them one after another in file
 *    order (see runParallel), so with failFast the branches after a failed one never start ("aborted:
 *    failFast"), where Jenkins would interrupt them; either way nothing after the parallel runs.
 *  - Times: each stage that runs records startedMs/endedMs and each sh step durationMs (run mode: the
 *    lead time per stage, tests/integration/jenkins/jenkins_harness.py lead_time).
 *
 * What it does not model: CPS (the continuation-passing transform: closures here run as plain Groovy, so code
 * Jenkins would reject as non-serialisable or CPS-mismatched passes); the script-security sandbox (no method
 * is blocked); agents, nodes, workspaces and checkout (everything runs in one place; `agent` is only
 * checked); plugin step signatures (only the arguments listed in the DSL below are known, and their types are
 * not checked beyond that); what a `build` step starts; timeouts, concurrency (parallel branches run one after another), matrix, stage-level agent/options/
 * input/tools, shared libraries, build history beyond one previousResult, and every step not listed in STEPS.
 */

import groovy.json.JsonOutput
import groovy.json.JsonSlurper
import org.codehaus.groovy.ast.ASTNode
import org.codehaus.groovy.ast.CodeVisitorSupport
import org.codehaus.groovy.ast.builder.AstBuilder
import org.codehaus.groovy.ast.expr.MethodCallExpression
import org.codehaus.groovy.control.CompilePhase
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.MultipleCompilationErrorsException

/** The Jenkinsfile is refused before any step runs. */
class Refused extends RuntimeException { Refused(String m) { super(m) } }
/** A step failed: the stage and the build are FAILURE. */
class StepFailed extends RuntimeException { StepFailed(String m) { super(m) } }
/** An `input` was aborted: the build is ABORTED. */
class Aborted extends RuntimeException { Aborted(String m) { super(m) } }
/** The scenario itself is wrong (a test bug): exit 2. */
class ScenarioError extends RuntimeException { ScenarioError(String m) { super(m) } }

class Dsl {
    static final List<String> STEPS = ['sh', 'echo', 'error', 'script', 'input', 'withCredentials', 'withEnv',
                                       'junit', 'archiveArtifacts', 'publishHTML', 'usernamePassword', 'string', 'file', 'build']
    static final List<String> POST_ORDER = ['always', 'changed', 'fixed', 'regression', 'aborted', 'failure',
                                            'success', 'unstable', 'unsuccessful', 'notBuilt', 'cleanup']
    static final List<String> RESULTS = ['SUCCESS', 'UNSTABLE', 'FAILURE', 'NOT_BUILT', 'ABORTED']
    /** The context that implicit-receiver calls and names in the Jenkinsfile resolve against. */
    static List<Object> stack = []

    static Object top() { stack[-1] }

    static Object within(Object ctx, Closure body) {
        stack.push(ctx)
        try { return body.call() } finally { stack.pop() }
    }

    static boolean only(Map m, List keys) { keys.containsAll(m.keySet()) }
    static boolean exactly(Map m, List keys) { m.keySet() == (keys as Set) }

    static String worse(String a, String b) { RESULTS.indexOf(a) >= RESULTS.indexOf(b) ? a : b }
}

/** The base class of the compiled Jenkinsfile: every free call and name goes to the current context. */
abstract class JenkinsfileScript extends Script {
    def methodMissing(String name, args) { Dsl.top().invokeMethod(name, args) }
    def propertyMissing(String name) { Dsl.top().getProperty(name) }
    void setProperty(String name, value) {
        if (name in ['binding', 'metaClass']) { super.setProperty(name, value) } else { Dsl.top().assign(name, value) }
    }
}

/** Phase 1 contexts: they record the model; anything they do not define is refused. */
class Section {
    String where
    def methodMissing(String name, args) { throw new Refused("$where: unknown ${kind()} '$name'") }
    def propertyMissing(String name) { throw new Refused("$where: unknown name '$name'") }
    void assign(String name, value) { throw new Refused("$where: assignment to '$name' is not allowed here") }
    String kind() { 'section' }
}

class Top extends Section {
    Map model
    Top() { where = 'Jenkinsfile' }
    def pipeline(Closure body) {
        if (model != null) throw new Refused('more than one pipeline block')
        model = [sections: [:], stages: []]
        Dsl.within(new PipelineSection(model: model)) { body.call() }
    }
}

class PipelineSection extends Section {
    Map model
    PipelineSection() { where = 'pipeline' }
    private void once(String name) {
        if (model.sections.containsKey(name)) throw new Refused("pipeline: multiple occurrences of the $name section")
        model.sections[name] = true
    }
    def agent(arg) {
        once('agent')
        if (arg instanceof Closure) {
            def a = new AgentSection()
            Dsl.within(a) { arg.call() }
            if (!a.label) throw new Refused('agent: no label')
            model.agent = [label: a.label]
        } else if (arg == 'any') {
            model.agent = [any: true]
        } else {
            throw new Refused("agent: '$arg' is not modelled (only any and label)")
        }
    }
    def getAny() { 'any' }
    def options(Closure body) { once('options'); model.options = [:]; Dsl.within(new OptionsSection(recorded: model.options)) { body.call() } }
    def parameters(Closure body) { once('parameters'); model.parameters = []; Dsl.within(new ParametersSection(list: model.parameters)) { body.call() } }
    def triggers(Closure body) { once('triggers'); model.triggers = []; Dsl.within(new TriggersSection(list: model.triggers)) { body.call() } }
    def environment(Closure body) { once('environment'); model.environment = body }
    def stages(Closure body) { once('stages'); Dsl.within(new StagesSection(list: model.stages)) { body.call() } }
    def post(Closure body) { once('post'); model.post = PostSection.read('pipeline', body) }
}

class AgentSection extends Section {
    String label
    AgentSection() { where = 'agent' }
    def label(String l) { label = l }
}

class OptionsSection extends Section {
    Map recorded
    OptionsSection() { where = 'options' }
    String kind() { 'option' }
    def timestamps() { recorded.timestamps = true }
    def timeout(Map m) {
        if (!Dsl.only(m, ['time', 'unit', 'activity']) || !(m.time instanceof Integer)) throw new Refused("options: timeout($m)")
        recorded.timeout = m
    }
    def disableConcurrentBuilds(Map m = [:]) { recorded.disableConcurrentBuilds = m }
    def skipStagesAfterUnstable() { recorded.skipStagesAfterUnstable = true }
    def parallelsAlwaysFailFast() { recorded.parallelsAlwaysFailFast = true }
    def logRotator(Map m) {
        if (!Dsl.only(m, ['numToKeepStr', 'daysToKeepStr', 'artifactNumToKeepStr', 'artifactDaysToKeepStr'])) throw new Refused("options: logRotator($m)")
        [logRotator: m]
    }
    def buildDiscarder(strategy) {
        if (!(strategy instanceof Map && strategy.logRotator)) throw new Refused('options: buildDiscarder needs logRotator(...)')
        recorded.buildDiscarder = strategy
    }
}

class ParametersSection extends Section {
    List list
    ParametersSection() { where = 'parameters' }
    String kind() { 'parameter type' }
    private void add(String type, Map m, List keys) {
        if (!m.name || !Dsl.only(m, keys)) throw new Refused("parameters: $type($m)")
        if (list.any { it.name == m.name }) throw new Refused("parameters: duplicate parameter ${m.name}")
        list << ([type: type] + m)
    }
    def choice(Map m) { add('choice', m, ['name', 'choices', 'description']); if (!m.choices) throw new Refused('parameters: choice without choices') }
    def booleanParam(Map m) { add('booleanParam', m, ['name', 'defaultValue', 'description']) }
    def string(Map m) { add('string', m, ['name', 'defaultValue', 'description', 'trim']) }
}

class TriggersSection extends Section {
    List list
    TriggersSection() { where = 'triggers' }
    String kind() { 'trigger' }
    def githubPush() { list << 'githubPush' }
    def cron(String spec) { list << "cron($spec)" }
    def pollSCM(String spec) { list << "pollSCM($spec)" }
}

class StagesSection extends Section {
    List list
    Set<String> names = new HashSet<>()  // shared by every level: stage names are unique in the whole pipeline
    StagesSection() { where = 'stages' }
    def stage(String name, Closure body) {
        if (!names.add(name)) throw new Refused("Duplicate stage name: \"$name\"")
        def s = new StageSection(stage: [name: name], where: "stage '$name'", names: names)
        Dsl.within(s) { body.call() }
        def bodies = ['steps', 'parallel', 'stages'].findAll { s.stage[it] }
        if (!bodies) throw new Refused("Nothing to execute within stage \"$name\" (no steps, parallel or stages)")
        if (bodies.size() > 1) throw new Refused("stage \"$name\": only one of steps, parallel and stages is allowed ($bodies)")
        if (s.stage.failFast != null && !s.stage.parallel) throw new Refused("stage \"$name\": failFast without parallel")
        list << s.stage
    }
}

class StageSection extends Section {
    Map stage
    Set<String> names
    private void once(String name) {
        if (stage.containsKey(name)) throw new Refused("$where: multiple occurrences of $name")
    }
    def when(Closure body) {
        once('when')
        def w = new WhenSection(where: "$where when")
        Dsl.within(w) { body.call() }
        if (!w.conditions) throw new Refused("$where: empty when")
        stage.when = [kind: 'allOf', children: w.conditions]
    }
    def steps(Closure body) { once('steps'); stage.steps = body }
    def environment(Closure body) { once('environment'); stage.environment = body }
    def post(Closure body) { once('post'); stage.post = PostSection.read(where, body) }
    def failFast(boolean on) { once('failFast'); stage.failFast = on }
    /** `parallel { stage ... }`: branches that may not hold a parallel of their own. */
    def parallel(Closure body) {
        once('parallel')
        stage.parallel = nested('parallel', body)
        stage.parallel.each { b -> if (b.parallel) throw new Refused("$where: parallel stage '${b.name}' holds a parallel of its own") }
    }
    /** `stages { stage ... }`: a sequence inside this stage. */
    def stages(Closure body) { once('stages'); stage.stages = nested('stages', body) }
    private List nested(String kind, Closure body) {
        def section = new StagesSection(list: [], names: names, where: "$where $kind")
        Dsl.within(section) { body.call() }
        if (!section.list) throw new Refused("$where: empty $kind")
        section.list
    }
}

/** `when` conditions become a tree of maps; `expression` keeps its closure for the run. */
class WhenSection extends Section {
    List conditions = []
    String kind() { 'when condition' }
    def branch(String pattern) { conditions << [kind: 'branch', pattern: pattern] }
    def expression(Closure c) { conditions << [kind: 'expression', closure: c] }
    def environment(Map m) { conditions << [kind: 'environment', name: m.name, value: m.value] }
    def equals(Map m) { conditions << [kind: 'equals', expected: m.expected, actual: m.actual] }
    private Map nested(String kind, Closure body) {
        def w = new WhenSection(where: "$where $kind")
        Dsl.within(w) { body.call() }
        if (!w.conditions) throw new Refused("$where: empty $kind")
        [kind: kind, children: w.conditions]
    }
    def allOf(Closure body) { conditions << nested('allOf', body) }
    def anyOf(Closure body) { conditions << nested('anyOf', body) }
    def not(Closure body) {
        def n = nested('not', body)
        if (n.children.size() != 1) throw new Refused("$where: not takes exactly one condition")
        conditions << n
    }
}

class PostSection extends Section {
    Map blocks = [:]
    String kind() { 'post condition' }
    static Map read(String where, Closure body) {
        def p = new PostSection(where: "$where post")
        Dsl.within(p) { body.call() }
        p.blocks
    }
    def methodMissing(String name, args) {
        if (!(name in Dsl.POST_ORDER)) throw new Refused("$where: Invalid condition \"$name\" - valid conditions are ${Dsl.POST_ORDER}")
        if (blocks.containsKey(name)) throw new Refused("$where: duplicate condition $name")
        if (!(args.size() == 1 && args[0] instanceof Closure)) throw new Refused("$where: $name needs a block")
        blocks[name] = args[0]
    }
}

/** The `currentBuild` global: its result can only get worse. */
class CurrentBuild {
    String result = null
    String getCurrentResult() { result ?: 'SUCCESS' }
    void setResult(String r) {
        if (!(r in Dsl.RESULTS)) throw new StepFailed("currentBuild.result = $r")
        result = result ? Dsl.worse(result, r) : r
    }
}

/** `env`: reads the variables the current step sees; assignment sets a build-wide variable. */
class EnvGlobal {
    Run run
    def propertyMissing(String name) { run.envNow()[name] }
    def propertyMissing(String name, value) { run.globalEnv[name] = value?.toString() }
}

/** The `environment` directive: assignments become variables; `credentials('id')` binds. */
class EnvironmentSection {
    Run run
    Map target
    def getParams() { run.params }
    def getEnv() { new EnvGlobal(run: run) }
    def credentials(String id) { [credentialsRef: id] }
    def methodMissing(String name, args) { throw new StepFailed("environment: no such function $name") }
    def propertyMissing(String name) {
        def all = run.envNow() + target
        if (!all.containsKey(name)) throw new StepFailed("environment: no such variable $name")
        all[name]
    }
    void assign(String name, value) {
        if (value instanceof Map && value.credentialsRef) {
            def c = run.credential(value.credentialsRef)
            if (c.type == 'usernamePassword') {
                run.secret(c.password); if (c.usernameSecret) run.secret(c.username)
                target[name] = "${c.username}:${c.password}".toString()
                target[name + '_USR'] = c.username
                target[name + '_PSW'] = c.password
            } else {
                run.secret(c.secret)
                target[name] = c.secret
            }
        } else {
            target[name] = value?.toString()
        }
    }
}

/** Phase 2: the steps. */
class Steps {
    Run run
    def getParams() { run.params }
    def getEnv() { new EnvGlobal(run: run) }
    def getCurrentBuild() { run.currentBuild }
    def methodMissing(String name, args) { throw new StepFailed("No such DSL method '$name' found among steps") }
    def propertyMissing(String name) {
        def env = run.envNow()
        if (!env.containsKey(name)) throw new StepFailed("No such property: $name")
        env[name]
    }
    void assign(String name, value) { throw new StepFailed("assignment to $name: not modelled (use env.$name)") }

    def sh(arg) {
        Map m = arg instanceof Map ? arg : [script: arg]
        if (!Dsl.only(m, ['script', 'returnStatus', 'returnStdout', 'label', 'encoding'])) throw new StepFailed("sh: unknown argument in ${m.keySet()}")
        def script = m.script
        boolean interpolated = script instanceof GString && ((GString) script).values.length > 0
        String text = script.toString()
        if (interpolated && run.secrets.any { text.contains(it) }) {
            run.warnings << "A secret was passed to \"sh\" using Groovy String interpolation, which is insecure (${run.mask(text)})"
        }
        def event = [step: 'sh', script: run.mask(text), interpolated: interpolated, env: run.maskedEnv(),
                     credentials: run.bound.flatten()]
        long started = System.currentTimeMillis()
        def (int status, String stdout) = run.execute(text, event)
        event.exit = status
        event.durationMs = System.currentTimeMillis() - started
        run.record(event)
        if (m.returnStatus) return status
        if (status != 0) throw new StepFailed("script returned exit code $status")
        if (m.returnStdout) return stdout
        null
    }

    def echo(message) { run.record([step: 'echo', message: run.mask(message.toString())]) }
    def error(message) { run.record([step: 'error', message: run.mask(message.toString())]); throw new StepFailed(message.toString()) }
    def script(Closure body) { body.call() }

    static final String APPROVER_ID = 'release-approver'

    def input(arg) {
        Map m = arg instanceof Map ? arg : [message: arg]
        if (!m.message || !Dsl.only(m, ['message', 'ok', 'submitter', 'submitterParameter', 'id'])) {
            throw new StepFailed("input: $m")
        }
        String answer = run.nextInput()
        run.record([step: 'input', message: m.message, ok: m.ok, answer: answer, env: run.maskedEnv()])
        if (answer == 'abort') throw new Aborted("input '${m.message}' aborted")
        // With submitterParameter and no other parameter, input returns the approving user's id.
        m.submitterParameter ? APPROVER_ID : null
    }

    def usernamePassword(Map m) {
        if (!Dsl.exactly(m, ['credentialsId', 'usernameVariable', 'passwordVariable'])) throw new StepFailed("usernamePassword: $m")
        [type: 'usernamePassword'] + m.collectEntries { k, v -> [k, v.toString()] }
    }
    def file(Map m) {
        if (!Dsl.exactly(m, ['credentialsId', 'variable'])) throw new StepFailed("file: $m")
        [type: 'file'] + m.collectEntries { k, v -> [k, v.toString()] }
    }
    def string(Map m) {
        // Two steps share the name: a secret-text binding (withCredentials) and a build parameter (build).
        if (!Dsl.exactly(m, ['credentialsId', 'variable']) && !Dsl.exactly(m, ['name', 'value'])) throw new StepFailed("string: $m")
        [type: 'string'] + m.collectEntries { k, v -> [k, v.toString()] }
    }

    // `build` (Pipeline: Build Step plugin): start another job. Recorded, never run; with wait: false it
    // returns at once, and parameters the target job does not define are dropped by Jenkins (not modelled).
    def build(Map m) {
        if (!m.job || !Dsl.only(m, ['job', 'parameters', 'wait', 'propagate', 'quietPeriod'])) throw new StepFailed("build: $m")
        def parameters = (m.parameters ?: []).collect { p ->
            if (!(p instanceof Map) || p.name == null) throw new StepFailed("build: parameter $p")
            [name: p.name, value: run.mask(p.value.toString())]
        }
        run.record([step: 'build', job: m.job.toString(), parameters: parameters, wait: m.wait == null ? true : m.wait,
                    propagate: m.propagate == null ? true : m.propagate])
        null
    }

    def withCredentials(List bindings, Closure body) {
        Map vars = [:]
        bindings.each { b ->
            def c = run.credential(b.credentialsId)
            if (c.type != b.type) throw new StepFailed("Credentials '${b.credentialsId}' is of type ${c.type} where ${b.type} was expected")
            if (b.type == 'usernamePassword') {
                vars[b.usernameVariable] = c.username
                vars[b.passwordVariable] = c.password
                run.secret(c.password); if (c.usernameSecret) run.secret(c.username)
            } else if (b.type == 'file') {
                File copy = File.createTempFile('secretFile', '.tmp')
                copy.deleteOnExit()
                copy.text = c.secret
                vars[b.variable] = copy.absolutePath
                run.secret(copy.absolutePath); run.secret(c.secret)
            } else {
                vars[b.variable] = c.secret
                run.secret(c.secret)
            }
            run.credentialsUsed << b.credentialsId
        }
        run.bound << bindings*.credentialsId
        try { run.withOverlay(vars, body) } finally { run.bound.remove(run.bound.size() - 1) }
    }

    def withEnv(List pairs, Closure body) {
        run.withOverlay(pairs.collectEntries { def (k, v) = it.toString().split('=', 2); [k, v] }, body)
    }

    def junit(arg) {
        Map m = arg instanceof Map ? arg : [testResults: arg]
        if (!m.testResults || !Dsl.only(m, ['testResults', 'allowEmptyResults', 'skipPublishingChecks'])) throw new StepFailed("junit: $m")
        def reports = run.scenario.junit
        run.record([step: 'junit', testResults: m.testResults, allowEmptyResults: m.allowEmptyResults ?: false, found: reports != null])
        if (reports == null) {
            if (!m.allowEmptyResults) throw new StepFailed('No test report files were found. Configuration error?')
        } else if ((reports.failures ?: 0) > 0) {
            run.currentBuild.result = 'UNSTABLE'
        }
        null
    }

    def archiveArtifacts(arg) {
        Map m = arg instanceof Map ? arg : [artifacts: arg]
        if (!m.artifacts || !Dsl.only(m, ['artifacts', 'allowEmptyArchive', 'fingerprint', 'excludes'])) throw new StepFailed("archiveArtifacts: $m")
        run.record([step: 'archiveArtifacts', artifacts: m.artifacts, allowEmptyArchive: m.allowEmptyArchive ?: false])
    }

    def publishHTML(Map arg) {
        Map m = arg.target instanceof Map && arg.size() == 1 ? arg.target : [:]
        def known = ['reportName', 'reportDir', 'reportFiles', 'allowMissing', 'alwaysLinkToLastBuild', 'keepAll', 'reportTitles']
        if (!m.reportName || !m.reportDir || !m.reportFiles || !Dsl.only(m, known)) throw new StepFailed("publishHTML: $arg")
        run.record([step: 'publishHTML', reportName: m.reportName, reportDir: m.reportDir, reportFiles: m.reportFiles,
                    allowMissing: m.allowMissing ?: false])
    }
}

/** One build of the Jenkinsfile under one scenario. */
class Run {
    static final int TAIL_LINES = 20  // run mode: the last lines of each real sh step's output, kept in its event
    Map scenario
    Map model
    Map params = [:]
    Map<String, String> globalEnv = [:]
    List<Map<String, String>> overlays = []
    Set<String> secrets = new LinkedHashSet<>()
    CurrentBuild currentBuild = new CurrentBuild()
    List events = []
    List stages = []
    List post = []
    List warnings = []
    Set credentialsUsed = new LinkedHashSet<>()
    List<List> bound = []  // the credential ids of the withCredentials blocks the current step is in
    String where = null
    List inputs

    Map<String, String> envNow() {
        Map<String, String> e = new LinkedHashMap<>(globalEnv)
        overlays.each { e.putAll(it) }
        e
    }
    Map<String, String> maskedEnv() { envNow().collectEntries { k, v -> [k, mask(v)] }.sort() }
    String mask(String s) {
        if (s == null) return null
        secrets.sort { -it.size() }.each { if (it) s = s.replace(it, '****') }
        s
    }
    void secret(String s) { if (s) secrets << s }
    void record(Map event) { events << ([where: where] + event) }

    Map credential(String id) {
        def c = (scenario.credentials ?: [:])[id]
        if (c == null) throw new StepFailed("Could not find credentials entry with ID '$id'")
        c
    }

    String nextInput() {
        if (!inputs) throw new ScenarioError("an input step was reached but the scenario gives no answer")
        String a = inputs.remove(0)
        if (!(a in ['proceed', 'abort'])) throw new ScenarioError("input answer $a")
        a
    }

    def withOverlay(Map vars, Closure body) {
        overlays << vars.collectEntries { k, v -> [k.toString(), v?.toString()] }
        try { body.call() } finally { overlays.remove(overlays.size() - 1) }
    }

    /** [exit status, stdout] of one sh script: scripted when a rule matches, else (run mode) `sh -xe` for real. */
    List execute(String text, Map event) {
        def rule = (scenario.sh ?: []).find { text.contains(it.match) }
        if (rule || scenario.mode != 'run') {
            if (scenario.mode == 'run') { event.stubbed = true; System.err.println("+ ${mask(text)}  [stubbed by the test]") }
            return [rule ? (rule.exit as int) : 0, rule?.stdout ?: '']
        }
        def pb = new ProcessBuilder(['sh', '-xe', '-c', text])
        pb.directory(new File(scenario.workspace))
        pb.environment().putAll(envNow().findAll { k, v -> v != null })
        pb.redirectErrorStream(true)
        def p = pb.start()
        def out = new StringBuilder()
        def tail = new LinkedList<String>()
        p.inputStream.eachLine { line ->
            System.err.println(mask(line)); out << line << '\n'
            tail << mask(line); if (tail.size() > TAIL_LINES) tail.removeFirst()
        }
        event.tail = tail as List  // like the end of a Jenkins console log: why a step failed, in the trace
        [p.waitFor(), out.toString()]
    }

    /** Run mode: Jenkins-like stage markers in the log (stderr). */
    void log(String line) { if (scenario.mode == 'run') System.err.println(line) }

    void setupParams() {
        def defs = model.parameters ?: []
        def given = scenario.params ?: [:]
        given.keySet().each { k -> if (!defs.any { it.name == k }) throw new ScenarioError("parameter $k is not defined") }
        defs.each { d ->
            def v = given.containsKey(d.name) ? given[d.name] : (d.type == 'choice' ? d.choices[0] : d.defaultValue)
            if (d.type == 'booleanParam') v = v instanceof Boolean ? v : Boolean.parseBoolean(v?.toString())
            if (d.type == 'string') v = (v ?: '').toString()
            if (d.type == 'choice' && !(v in d.choices)) throw new ScenarioError("Illegal choice for parameter ${d.name}: $v")
            params[d.name] = v
        }
        params = Collections.unmodifiableMap(params)
    }

    boolean holds(Map c) {
        switch (c.kind) {
            case 'allOf': return c.children.every { holds(it) }
            case 'anyOf': return c.children.any { holds(it) }
            case 'not': return !holds(c.children[0])
            case 'branch':
                def b = globalEnv.BRANCH_NAME
                return b != null && b ==~ glob(c.pattern)
            case 'environment': return envNow()[c.name] == c.value
            case 'equals': return c.expected == c.actual
            case 'expression':
                return Dsl.within(new Steps(run: this)) { c.closure.call() } as boolean
        }
        throw new IllegalStateException(c.kind)
    }

    /** An ANT-style glob: `**` any path, `*` any name part, `?` one character. */
    static String glob(String pattern) {
        pattern.split(/\*\*/, -1).collect { part ->
            part.split(/\*/, -1).collect { it.split(/\?/, -1).collect { java.util.regex.Pattern.quote(it) }.join('[^/]') }.join('[^/]*')
        }.join('.*')
    }

    void runPost(Map blocks, String label) {
        Dsl.POST_ORDER.each { cond ->
            if (!blocks.containsKey(cond) || !applies(cond)) return
            post << (label ? "$label/$cond" : cond)
            where = label ? "$label/post:$cond" : "post:$cond"
            try {
                Dsl.within(new Steps(run: this)) { blocks[cond].call() }
            } catch (StepFailed e) {
                record([step: 'failed', message: mask(e.message)])
                currentBuild.result = 'FAILURE'
            } catch (Aborted e) {
                currentBuild.result = 'ABORTED'
            }
        }
    }

    boolean applies(String cond) {
        String r = currentBuild.currentResult
        String prev = scenario.previousResult
        switch (cond) {
            case 'always': case 'cleanup': return true
            case 'changed': return prev != null && prev != r
            case 'fixed': return r == 'SUCCESS' && prev in ['UNSTABLE', 'FAILURE']
            case 'regression': return prev == 'SUCCESS' && r in ['UNSTABLE', 'FAILURE', 'ABORTED']
            case 'aborted': return r == 'ABORTED'
            case 'failure': return r == 'FAILURE'
            case 'success': return r == 'SUCCESS'
            case 'unstable': return r == 'UNSTABLE'
            case 'unsuccessful': return r != 'SUCCESS'
            case 'notBuilt': return r == 'NOT_BUILT'
        }
        false
    }

    /** Runs `body` as a step block; failures and aborts become the build's result. */
    boolean guarded(Closure body) {
        try {
            body.call()
            return true
        } catch (StepFailed e) {
            record([step: 'failed', message: mask(e.message)])
            currentBuild.result = 'FAILURE'
        } catch (Aborted e) {
            record([step: 'aborted', message: mask(e.message)])
            currentBuild.result = 'ABORTED'
        }
        false
    }

    /** Stages one after another: after a failure the rest are "skipped due to earlier failure(s)". */
    boolean runSequence(List sequence, boolean ok) {
        sequence.each { st -> ok = runStage(st, ok) }
        ok
    }

    /** Marks a stage that does not run, and every stage nested in it. */
    void notRun(Map st, String status, String why) {
        stages << [name: st.name, status: status]
        log("[Pipeline] stage '${st.name}' $why")
        (st.parallel ?: st.stages ?: []).each { notRun(it, status, why) }
    }

    /** One stage: its `when`, then its steps, its parallel branches or its nested stages, then its post. */
    boolean runStage(Map st, boolean ok) {
        where = st.name
        String r = currentBuild.currentResult
        if (!ok || r == 'ABORTED' || (r == 'UNSTABLE' && model.options?.skipStagesAfterUnstable)) {
            notRun(st, 'skipped: earlier failure', 'skipped due to earlier failure(s)')
            return false
        }
        boolean enter = true
        if (st.when && !guarded { enter = holds(st.when) }) {
            stages << [name: st.name, status: 'FAILURE']
            return false
        }
        if (!enter) {
            notRun(st, 'skipped: when', 'skipped due to when conditional')
            return true
        }
        String before = currentBuild.currentResult
        Map entry = [name: st.name, startedMs: System.currentTimeMillis()]
        stages << entry
        log("[Pipeline] stage '${st.name}'")
        def vars = [:]
        boolean done = guarded {
            if (st.environment) Dsl.within(new EnvironmentSection(run: this, target: vars)) { st.environment.call() }
        }
        if (done) {
            withOverlay(vars) {
                if (st.parallel) {
                    done = runParallel(st)
                } else if (st.stages) {
                    done = runSequence(st.stages, true)
                } else {
                    done = guarded { Dsl.within(new Steps(run: this)) { st.steps.call() } }
                }
            }
        }
        where = st.name
        if (st.post) runPost(st.post, st.name)
        String after = currentBuild.currentResult
        entry.status = done ? (after == before ? 'SUCCESS' : after) : after
        entry.endedMs = System.currentTimeMillis()
        done && !(after != before && after in ['FAILURE', 'ABORTED'])
    }

    /**
     * `parallel`: Jenkins starts the branches together; here they run one after another in file order (the
     * trace, the environment overlays and run mode's output stay those of one branch at a time). A failed
     * branch does not stop its siblings, unless failFast (or parallelsAlwaysFailFast): then Jenkins
     * interrupts the branches still running; here the branches after it never start, and both show as
     * "aborted: failFast". The stage after the parallel runs only when every branch passed. A scenario's
     * parallelOrder ({stage: [branch, ...]}) picks another order: which branch Jenkins would finish first.
     */
    boolean runParallel(Map st) {
        boolean all = true
        boolean stop = false
        List order = (scenario.parallelOrder ?: [:])[st.name]
        if (order != null && order as Set != st.parallel*.name as Set) throw new ScenarioError("parallelOrder of ${st.name}: $order")
        List branches = order == null ? st.parallel : order.collect { n -> st.parallel.find { it.name == n } }
        branches.each { branch ->
            if (stop) {
                notRun(branch, 'aborted: failFast', "aborted: another branch failed (failFast)")
                return
            }
            boolean fine = runStage(branch, true)
            if (!fine) {
                all = false
                stop = st.failFast || model.options?.parallelsAlwaysFailFast
            }
        }
        all
    }

    Map go() {
        inputs = new ArrayList(scenario.input ?: [])
        setupParams()
        globalEnv.BRANCH_NAME = scenario.branch
        globalEnv.BUILD_NUMBER = (scenario.buildNumber ?: 1).toString()
        globalEnv.JOB_NAME = "sentiment-api/${scenario.branch}".toString()
        if (scenario.mode == 'run') globalEnv.WORKSPACE = scenario.workspace
        params.each { k, v -> globalEnv[k] = v.toString() }
        where = 'environment'
        boolean ok = guarded {
            if (model.environment) {
                def target = [:]
                Dsl.within(new EnvironmentSection(run: this, target: target)) { model.environment.call() }
                globalEnv.putAll(target)
            }
            // Test-only, not Jenkins: variables forced over the pipeline's own (run mode: PROJECT_ENV=local).
            globalEnv.putAll((scenario.forceEnv ?: [:]).collectEntries { k, v -> [k, v.toString()] })
        }
        runSequence(model.stages, ok)
        where = null
        if (model.post) runPost(model.post, null)
        [result: currentBuild.currentResult, refused: null, stages: stages, steps: events, post: post,
         warnings: warnings, credentialsUsed: credentialsUsed as List, options: model.options, agent: model.agent,
         parameters: model.parameters, triggers: model.triggers]
    }
}

/** Finds calls with an implicit receiver inside `steps` and `post` conditions that are not modelled steps. */
class StepCheck extends CodeVisitorSupport {
    int inSteps = 0
    boolean inPost = false
    List<String> unknown = []
    void visitMethodCallExpression(MethodCallExpression call) {
        String name = call.methodAsString
        boolean implicit = call.implicitThis
        if (implicit && inSteps > 0 && !(name in Dsl.STEPS)) unknown << "$name (line ${call.lineNumber})".toString()
        boolean opens = implicit && inSteps == 0 && (name == 'steps' || (inPost && name in Dsl.POST_ORDER))
        boolean post = implicit && inSteps == 0 && name == 'post'
        boolean wasPost = inPost
        if (opens) { inSteps++; inPost = false }
        if (post) inPost = true
        try { super.visitMethodCallExpression(call) } finally { if (opens) inSteps--; inPost = wasPost }
    }
}

Map refuse(String why) { [result: null, refused: why, stages: [], steps: [], post: [], warnings: []] }

/** Phase 1, before any step runs: the checks and the model of one Jenkinsfile (a String: the refusal). */
Object load(String source) {
    List<ASTNode> nodes
    try {
        nodes = new AstBuilder().buildFromString(CompilePhase.CONVERSION, true, source)
    } catch (MultipleCompilationErrorsException e) {
        return "Groovy syntax error: ${e.message.readLines().find { it.contains('@ line') } ?: e.message}".toString()
    }
    def check = new StepCheck()
    nodes.each { it.visit(check) }
    if (check.unknown) return "No such DSL method (unknown step): ${check.unknown.join(', ')}".toString()

    def config = new CompilerConfiguration(scriptBaseClass: JenkinsfileScript.name)
    def shell = new GroovyShell(this.class.classLoader, new Binding(), config)
    def top = new Top()
    Dsl.stack.clear()
    try {
        def script = shell.parse(source, 'Jenkinsfile')
        Dsl.within(top) { script.run() }
    } catch (Refused e) {
        return e.message
    } catch (MissingMethodException | MissingPropertyException e) {
        return e.message
    }
    def model = top.model
    if (model == null) return 'no pipeline block'
    if (!model.agent) return 'Missing required section "agent"'
    if (!model.stages) return 'Missing required section "stages" (or no stage)'
    model
}

/** Phase 2: one build. The model of each distinct Jenkinsfile text is built once per process. */
Map build(Map scenario, Map models) {
    String source = new File(scenario.jenkinsfile).text
    def model = models.computeIfAbsent(source) { load(source) }
    if (model instanceof String) return refuse(model)
    new Run(scenario: scenario, model: model).go()
}

def scenarios = new JsonSlurper().parse(new File(args[0]))
try {
    def models = [:]
    println JsonOutput.toJson(scenarios.collect { build(it, models) })
} catch (ScenarioError e) {
    System.err.println("scenario error: ${e.message}")
    System.exit(2)
}
