// SPDX-License-Identifier: MIT
// Conformance driver: runs the real npm MLflow client (mlflow@2.0.7) against a gyre server
// through a full tier-1 sequence (experiments, runs, metrics, params, tags, log-batch, the
// latest-metric rule, metric history, filtered and ordered run search, artifacts/list, the
// legacy experiments/list, soft delete and restore, error codes) and prints TAP lines
// "ok N - ..." / "not ok N - ..." for tests/e2e/test_mlflow.sh to relay.
//
//   node tests/e2e/mlflow_client.js http://127.0.0.1:PORT NPM_PREFIX
//
// NPM_PREFIX is where `npm install --prefix NPM_PREFIX mlflow@2.0.7` put the package. The
// client console.logs every POST body, so calls run with console.log muted; it throws
// Error("Error: {status, statusText, data}") for anything but 200, which err() unwraps.
'use strict';

const path = require('path');

const endpoint = process.argv[2];
const prefix = process.argv[3];
let n = 0;
let failed = 0;

function ok(cond, desc, diag) {
    n++;
    if (cond) {
        console.log(`ok ${n} - ${desc}`);
    } else {
        failed++;
        console.log(`not ok ${n} - ${desc}`);
        if (diag !== undefined) {
            const text = typeof diag === 'string' ? diag : JSON.stringify(diag);
            for (const line of text.split('\n')) console.log(`#   ${line}`);
        }
    }
    return cond;
}

// Runs one client call with console.log muted: {ok: true, data} or {ok: false, status,
// error_code, message, raw}.
async function call(fn) {
    const log = console.log;
    console.log = () => {};
    try {
        const data = await fn();
        return { ok: true, data };
    } catch (e) {
        const text = String(e && e.message);
        const at = text.indexOf('{');
        let parsed = null;
        try {
            parsed = at >= 0 ? JSON.parse(text.slice(at)) : null;
        } catch (_) {
            parsed = null;
        }
        return {
            ok: false,
            status: parsed ? parsed.status : undefined,
            error_code: parsed && parsed.data ? parsed.data.error_code : undefined,
            message: parsed && parsed.data ? parsed.data.message : undefined,
            raw: text,
        };
    } finally {
        console.log = log;
    }
}

// Checks that a call succeeded; returns its data (or undefined).
function success(r, desc) {
    ok(r.ok, desc, r.ok ? undefined : r.raw);
    return r.ok ? r.data : undefined;
}

// Checks that a call failed with HTTP @status and MLflow @code.
function failure(r, status, code, desc) {
    ok(!r.ok && r.status === status && r.error_code === code, desc,
        r.ok ? `succeeded: ${JSON.stringify(r.data)}` : `status ${r.status} ${r.error_code}: ${r.raw}`);
}

function eq(got, want, desc) {
    const g = JSON.stringify(got);
    const w = JSON.stringify(want);
    ok(g === w, desc, `got:  ${g}\nwant: ${w}`);
}

function kv(list) {
    const o = {};
    for (const e of list || []) o[e.key] = e.value;
    return o;
}

async function main() {
    let MLflow;
    try {
        MLflow = require(path.join(prefix, 'node_modules', 'mlflow'));
    } catch (e) {
        ok(false, 'the npm mlflow client loads', String(e));
        return;
    }
    ok(typeof MLflow === 'function', 'the npm mlflow client loads');
    const client = new MLflow({ endpoint });
    const { Experiments, Runs, Metrics, Artifacts } = client;
    const tag = `${process.pid}`;

    // ---------------------------------------------------------------- experiments
    let r = await call(() => Experiments.create({ name: `npm-exp-${tag}` }));
    const created = success(r, 'Experiments.create');
    const expId = created && created.experiment_id;
    ok(typeof expId === 'string' && /^[0-9]+$/.test(expId), 'experiment_id is a numeric string', created);

    r = await call(() => Experiments.get({ experiment_id: expId }));
    let exp = success(r, 'Experiments.get');
    exp = exp && exp.experiment;
    eq(exp && [exp.experiment_id, exp.name, exp.lifecycle_stage],
        [expId, `npm-exp-${tag}`, 'active'], 'the experiment has its id, name and stage');
    ok(exp && typeof exp.creation_time === 'number' && typeof exp.last_update_time === 'number',
        'creation_time and last_update_time are JSON numbers', exp);
    ok(exp && exp.artifact_location === `mlflow-artifacts:/${expId}`,
        'artifact_location is mlflow-artifacts:/<id>', exp);

    r = await call(() => Experiments.create({ name: `npm-exp-${tag}` }));
    failure(r, 400, 'RESOURCE_ALREADY_EXISTS', 'a duplicate name is 400 RESOURCE_ALREADY_EXISTS');
    r = await call(() => Experiments.get({ experiment_id: '987654321' }));
    failure(r, 404, 'RESOURCE_DOES_NOT_EXIST', 'an unknown experiment id is 404 RESOURCE_DOES_NOT_EXIST');

    r = await call(() => Experiments.update({ experiment_id: expId, new_name: `npm-renamed-${tag}` }));
    eq(success(r, 'Experiments.update (rename)'), {}, 'update answers {}');
    r = await call(() => Experiments.get({ experiment_id: expId }));
    eq(r.ok && r.data.experiment.name, `npm-renamed-${tag}`, 'the experiment has its new name');

    r = await call(() => Experiments.list());
    const listed = success(r, 'Experiments.list (legacy endpoint)');
    ok(listed && (listed.experiments || []).some((e) => e.experiment_id === expId),
        'the legacy list holds the experiment', listed);
    ok(listed && (listed.experiments || []).some((e) => e.name === 'Default'),
        'and the Default experiment', listed);

    // The client builds this URL without a '/': gyre must answer in MLflow's error format.
    r = await call(() => Experiments.setExperimentTag({ experiment_id: expId, key: 'k', value: 'v' }));
    failure(r, 404, 'ENDPOINT_NOT_FOUND',
        'setExperimentTag (client bug: /experimentsset-experiment-tag) is 404 ENDPOINT_NOT_FOUND');

    // ---------------------------------------------------------------- runs
    const t0 = 1700000000000;
    r = await call(() => Runs.create({
        experiment_id: expId, user_id: 'npm-user', start_time: t0,
        tags: [{ key: 'mlflow.runName', value: 'npm-run-1' }, { key: 'origin', value: 'npm' }],
    }));
    let run = success(r, 'Runs.create');
    run = run && run.run;
    const runId = run && run.info.run_id;
    ok(typeof runId === 'string' && /^[0-9a-f]{32}$/.test(runId), 'run_id is 32 hex digits', run);
    eq(run && [run.info.run_uuid, run.info.experiment_id, run.info.status, run.info.run_name,
        run.info.start_time, run.info.lifecycle_stage, run.info.user_id],
    [runId, expId, 'RUNNING', 'npm-run-1', t0, 'active', 'npm-user'],
    'the new run: run_uuid, experiment, RUNNING, name from mlflow.runName, start_time, active');
    ok(run && run.info.artifact_uri === `mlflow-artifacts:/${expId}/${runId}/artifacts`,
        'artifact_uri is mlflow-artifacts:/<exp>/<run>/artifacts', run && run.info);

    r = await call(() => Runs.get({ run_id: 'ffffffffffffffffffffffffffffffff' }));
    failure(r, 404, 'RESOURCE_DOES_NOT_EXIST', 'an unknown run is 404 RESOURCE_DOES_NOT_EXIST');

    // Metrics: the latest value follows (step, timestamp, value), not the newest timestamp.
    const points = [
        ['loss', 0.5, t0 + 1, 0], ['loss', 0.4, t0 + 2, 1], ['loss', 0.3, t0 + 3, 2],
        ['loss', 0.9, t0 + 100, 1], ['acc', 0.7, t0 + 5, 5], ['acc', 0.8, t0 + 5, 5],
    ];
    let all = true;
    for (const [key, value, timestamp, step] of points) {
        r = await call(() => Runs.logMetric({ run_id: runId, key, value, timestamp, step }));
        if (!r.ok) {
            all = false;
            ok(false, `Runs.logMetric ${key} step ${step}`, r.raw);
        }
    }
    ok(all, 'Runs.logMetric: six points over several steps');

    r = await call(() => Runs.logParameter({ run_id: runId, key: 'lr', value: '0.1' }));
    eq(success(r, 'Runs.logParameter'), {}, 'log-parameter answers {}');
    r = await call(() => Runs.logParameter({ run_id: runId, key: 'lr', value: '0.1' }));
    success(r, 'logging the same param value again is fine');
    r = await call(() => Runs.logParameter({ run_id: runId, key: 'lr', value: '0.2' }));
    failure(r, 400, 'INVALID_PARAMETER_VALUE', 'changing a param is 400 INVALID_PARAMETER_VALUE');
    ok(!r.ok && /Changing param values is not allowed/.test(r.message || ''),
        "with MLflow's message", r.message);

    r = await call(() => Runs.setTag({ run_id: runId, key: 'team', value: 'fraud' }));
    success(r, 'Runs.setTag');
    r = await call(() => Runs.setTag({ run_id: runId, key: 'scratch', value: 'x' }));
    success(r, 'Runs.setTag (a second tag)');
    r = await call(() => Runs.deleteTag({ run_id: runId, key: 'scratch' }));
    success(r, 'Runs.deleteTag');
    r = await call(() => Runs.deleteTag({ run_id: runId, key: 'scratch' }));
    failure(r, 404, 'RESOURCE_DOES_NOT_EXIST', 'deleting a missing tag is 404');

    r = await call(() => Runs.logBatch({
        run_id: runId,
        metrics: [{ key: 'auc', value: 0.91, timestamp: t0 + 7, step: 0 },
            { key: 'auc', value: 0.93, timestamp: t0 + 8, step: 1 }],
        params: [{ key: 'depth', value: '6' }],
        tags: [{ key: 'stage', value: 'dev' }],
    }));
    eq(success(r, 'Runs.logBatch (the client also sends run_uuid)'), {}, 'log-batch answers {}');
    const many = [];
    for (let i = 0; i < 1001; i++) many.push({ key: 'm', value: i, timestamp: t0, step: i });
    r = await call(() => Runs.logBatch({ run_id: runId, metrics: many }));
    failure(r, 400, 'INVALID_PARAMETER_VALUE', 'log-batch with 1001 metrics is 400');

    r = await call(() => Runs.get({ run_id: runId }));
    run = success(r, 'Runs.get');
    run = run && run.run;
    const latest = {};
    for (const m of (run && run.data.metrics) || []) latest[m.key] = [m.value, m.step, m.timestamp];
    eq(latest, { acc: [0.8, 5, t0 + 5], auc: [0.93, 1, t0 + 8], loss: [0.3, 2, t0 + 3] },
        'runs/get: the latest metric per key by (step, timestamp, value)');
    eq(kv(run && run.data.params), { depth: '6', lr: '0.1' }, 'runs/get: params');
    const tags = kv(run && run.data.tags);
    eq([tags.team, tags.stage, tags.origin, tags.scratch, tags['mlflow.runName']],
        ['fraud', 'dev', 'npm', undefined, 'npm-run-1'], 'runs/get: tags (scratch deleted)');

    r = await call(() => Metrics.getHistory({ run_id: runId, metric_key: 'loss' }));
    const hist = success(r, 'Metrics.getHistory');
    eq(hist && hist.metrics.map((m) => [m.step, m.timestamp, m.value]),
        [[0, t0 + 1, 0.5], [1, t0 + 2, 0.4], [1, t0 + 100, 0.9], [2, t0 + 3, 0.3]],
        'every point, ordered by step then timestamp');
    r = await call(() => Metrics.getHistory({ run_id: runId, metric_key: 'nope' }));
    eq(success(r, 'history of an unknown key'), {}, 'is empty ({})');

    r = await call(() => Runs.update({ run_id: runId, status: 'FINISHED', end_time: t0 + 1000 }));
    const upd = success(r, 'Runs.update');
    eq(upd && [upd.run_info.status, upd.run_info.end_time, upd.run_info.run_id],
        ['FINISHED', t0 + 1000, runId], 'run_info shows FINISHED and end_time');

    // A second run for search.
    r = await call(() => Runs.create({ experiment_id: expId, start_time: t0 + 10,
        tags: [{ key: 'mlflow.runName', value: 'npm-run-2' }] }));
    const run2 = r.ok ? r.data.run.info.run_id : undefined;
    success(r, 'Runs.create (a second run)');
    r = await call(() => Runs.logBatch({ run_id: run2,
        metrics: [{ key: 'loss', value: 0.1, timestamp: t0 + 11, step: 0 }],
        params: [{ key: 'lr', value: '0.2' }] }));
    success(r, 'Runs.logBatch on the second run');

    r = await call(() => Runs.search({ experiment_ids: [expId], filter: 'metrics.loss < 0.35',
        order_by: ['metrics.loss ASC'] }));
    let found = success(r, 'Runs.search with a metric filter and order_by');
    eq(found && (found.runs || []).map((x) => x.info.run_id), [run2, runId],
        'both runs, lowest loss first');
    r = await call(() => Runs.search({ experiment_ids: [expId], filter: "params.lr = '0.1'",
        order_by: ['metrics.loss DESC'] }));
    found = success(r, 'Runs.search with a param filter');
    eq(found && (found.runs || []).map((x) => x.info.run_id), [runId], 'only the first run');
    r = await call(() => Runs.search({ experiment_ids: [expId], order_by: ['attributes.start_time ASC'],
        max_results: 1 }));
    found = success(r, 'Runs.search with max_results 1');
    ok(found && found.runs.length === 1 && found.runs[0].info.run_id === runId &&
        typeof found.next_page_token === 'string', 'one run and a next_page_token', found);
    r = await call(() => Runs.search({ experiment_ids: [expId], filter: 'metrics.loss <' }));
    failure(r, 400, 'INVALID_PARAMETER_VALUE', 'a bad filter is 400 INVALID_PARAMETER_VALUE');

    // ---------------------------------------------------------------- artifacts
    r = await call(() => Artifacts.list({ run_id: runId }));
    let arts = success(r, 'Artifacts.list (empty)');
    ok(arts && arts.root_uri === `mlflow-artifacts:/${expId}/${runId}/artifacts` && !arts.files,
        'root_uri and no files', arts);
    const up = await fetch(
        `${endpoint}/api/2.0/mlflow-artifacts/artifacts/${expId}/${runId}/artifacts/model/weights.bin`,
        { method: 'PUT', body: Buffer.from('0123456789') });
    ok(up.status === 200, 'an artifact uploaded through the mlflow-artifacts proxy', up.status);
    r = await call(() => Artifacts.list({ run_id: runId }));
    arts = success(r, 'Artifacts.list (root)');
    eq(arts && arts.files, [{ path: 'model', is_dir: true }], 'lists the directory');
    r = await call(() => Artifacts.list({ run_id: runId, path: 'model' }));
    arts = success(r, 'Artifacts.list (path=model)');
    eq(arts && arts.files, [{ path: 'model/weights.bin', is_dir: false, file_size: 10 }],
        'lists the file with its size');
    r = await call(() => Artifacts.list({ run_id: runId, path: '../model' }));
    failure(r, 400, 'INVALID_PARAMETER_VALUE', 'Artifacts.list refuses a .. path');

    // ---------------------------------------------------------------- delete and restore
    r = await call(() => Runs.delete({ run_id: run2 }));
    eq(success(r, 'Runs.delete'), {}, 'runs/delete answers {}');
    r = await call(() => Runs.get({ run_id: run2 }));
    eq(r.ok && r.data.run.info.lifecycle_stage, 'deleted', 'the run is deleted');
    r = await call(() => Runs.search({ experiment_ids: [expId] }));
    eq(r.ok && (r.data.runs || []).map((x) => x.info.run_id), [runId],
        'an active-only search leaves it out');
    r = await call(() => Runs.search({ experiment_ids: [expId], run_view_type: 'DELETED_ONLY' }));
    eq(r.ok && (r.data.runs || []).map((x) => x.info.run_id), [run2], 'DELETED_ONLY finds it');
    r = await call(() => Runs.restore({ run_id: run2 }));
    success(r, 'Runs.restore');
    r = await call(() => Runs.get({ run_id: run2 }));
    eq(r.ok && r.data.run.info.lifecycle_stage, 'active', 'the run is active again');

    r = await call(() => Experiments.delete({ experiment_id: expId }));
    eq(success(r, 'Experiments.delete'), {}, 'experiments/delete answers {}');
    r = await call(() => Experiments.get({ experiment_id: expId }));
    eq(r.ok && r.data.experiment.lifecycle_stage, 'deleted', 'the experiment is deleted');
    r = await call(() => Experiments.list({ view_type: 'DELETED_ONLY' }));
    ok(r.ok && (r.data.experiments || []).some((e) => e.experiment_id === expId),
        'Experiments.list DELETED_ONLY holds it', r.ok ? r.data : r.raw);
    r = await call(() => Runs.create({ experiment_id: expId }));
    failure(r, 400, 'INVALID_PARAMETER_VALUE', 'a run in a deleted experiment is 400');
    r = await call(() => Experiments.create({ name: `npm-renamed-${tag}` }));
    failure(r, 400, 'RESOURCE_ALREADY_EXISTS', 'a deleted experiment keeps its name reserved');
    r = await call(() => Experiments.restore({ experiment_id: expId }));
    success(r, 'Experiments.restore');
    r = await call(() => Experiments.get({ experiment_id: expId }));
    eq(r.ok && r.data.experiment.lifecycle_stage, 'active', 'the experiment is active again');
    r = await call(() => Runs.get({ run_id: runId }));
    eq(r.ok && r.data.run.info.lifecycle_stage, 'active', 'and so are its runs');
    r = await call(() => Experiments.restore({ experiment_id: '987654321' }));
    failure(r, 404, 'RESOURCE_DOES_NOT_EXIST', 'restoring an unknown experiment is 404');
}

main()
    .catch((e) => ok(false, 'the conformance run finished', String(e && e.stack)))
    .finally(() => {
        console.log(`1..${n}`);
        process.exitCode = failed ? 1 : 0;
    });
