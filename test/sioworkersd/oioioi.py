#!/usr/bin/env python3
"""An oioioi-style client of sioworkersd, for the tests: the calls oioioi's SioworkersdBackend makes
(Python's standard xmlrpc.client, the group env as a JSON string, allow_none) and the receiver of
its results (a plain http.server taking sioworkersd's multipart/form-data POST with one field
`data`), as oioioi's `start_receive_from_workers` does. Standard library only.

  oioioi.py call RPC_URL METHOD [ARG...]    one call (an ARG `struct:JSON` goes as a struct, any
                                            other as a string); prints its answer as JSON
  oioioi.py receive PORT [FAIL]             serves POSTs on PORT (0: a free one, printed first as
                                            {"port": P}); prints each received group env as one
                                            JSON line; the first FAIL POSTs are answered 500
  oioioi.py judge RPC_URL FILES_URL TOKEN   a whole submission: sources and tests put in the file
                                            store, compile with sync_run_group, the tests with
                                            run_group, results received on return_url; prints
                                            {"compile": ..., "group_id": ..., "returned": ...}
"""
import email.parser
import email.policy
import http.server
import json
import sys
import threading
import urllib.request
import xmlrpc.client


def proxy(url):
    return xmlrpc.client.ServerProxy(url, allow_none=True)


def form_data(headers, body):
    """The fields of a multipart/form-data body, by name (the email package: cgi is gone in 3.13)."""
    head = 'Content-Type: %s\r\nMIME-Version: 1.0\r\n\r\n' % headers['Content-Type']
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head.encode() + body)
    if not message.is_multipart():
        raise ValueError('not multipart: %s' % headers['Content-Type'])
    return {part.get_param('name', header='content-disposition'): part.get_payload(decode=True) for part in message.iter_parts()}


class Receiver(http.server.BaseHTTPRequestHandler):
    fail = 0
    received = []
    arrived = threading.Condition()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        with Receiver.arrived:
            if Receiver.fail > 0:
                Receiver.fail -= 1
                self.send_response(500)
                self.end_headers()
                return
            fields = form_data(self.headers, body)
            env = json.loads(fields['data'])
            env['_received'] = {'user_agent': self.headers.get('User-Agent'), 'content_type': self.headers.get('Content-Type').split(';')[0]}
            Receiver.received.append(env)
            Receiver.arrived.notify_all()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'OK')

    def log_message(self, *args):
        pass


def start_receiver(fail=0, port=0):
    Receiver.fail = fail
    server = http.server.ThreadingHTTPServer(('127.0.0.1', port), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def put(files_url, token, name, data):
    request = urllib.request.Request(files_url + '/files' + name, data=data.encode() if isinstance(data, str) else data, method='PUT')
    request.add_header('Authorization', 'Bearer ' + token)
    with urllib.request.urlopen(request) as response:
        return json.load(response)['name']


SOLUTION = '#include <cstdio>\nint main() { int a, b; scanf("%d %d", &a, &b); printf("%d\\n", a + b); }\n'
# A checker as oioioi's packages have them: `chk in out hint`, verdict on its stdout's first lines.
CHECKER = r'''#include <stdio.h>
int main(int argc, char **argv) {
  FILE *out = fopen(argv[2], "r"), *hint = fopen(argv[3], "r");
  long long a = 0, b = 0;
  if (fscanf(out, "%lld", &a) != 1 || fscanf(hint, "%lld", &b) != 1 || a != b) { printf("WRONG\nexpected %lld, read %lld\n", b, a); return 0; }
  printf("OK\n\n100\n");
  return 0;
}
'''
# (input, hint, time limit ms): the third overflows an int, so the solution is WA there.
TESTS = [('1 2\n', '3\n', 1000), ('40 2\n', '42\n', 2000), ('2000000000 2000000000\n', '4000000000\n', 1000)]


def judge(rpc_url, files_url, token):
    rpc = proxy(rpc_url)
    source = put(files_url, token, '/submissions/1.cpp', SOLUTION)
    checker = put(files_url, token, '/problems/sum/chk.c', CHECKER)
    tests = [(put(files_url, token, '/problems/sum/%d.in' % i, t[0]), put(files_url, token, '/problems/sum/%d.out' % i, t[1]), t[2]) for i, t in enumerate(TESTS, 1)]
    common = {'filetracker_url': files_url, 'oioioi_instance': 'test', 'contest_id': 'c1', 'contest_priority': 10, 'contest_weight': 1000}
    compiled = rpc.sync_run_group(json.dumps(dict(common, **{
        'workers_jobs': {
            'solution': {'job_type': 'compile', 'source_file': source, 'out_file': '/compiled/1.e', 'compiler': 'default-cpp', 'task_priority': 200},
            'checker': {'job_type': 'compile', 'source_file': checker, 'out_file': '/problems/sum/chk.e', 'compiler': 'default-c', 'task_priority': 200},
        },
        'workers_jobs.extra_args': {},
    })))
    if 'error' in compiled:
        return {'compile': compiled}
    results = compiled['workers_jobs.results']
    receiver = start_receiver()
    return_url = 'http://127.0.0.1:%d/' % receiver.server_address[1]
    jobs = {}
    for i, (inp, hint, limit) in enumerate(tests, 1):
        jobs['test%d' % i] = {
            'job_type': 'sio2jail-exec', 'exe_file': results['solution']['out_file'], 'exec_info': results['solution']['exec_info'],
            'in_file': inp, 'hint_file': hint, 'check_output': True, 'chk_file': results['checker']['out_file'],
            'untrusted_checker': True, 'checker_format': 'english_abbreviated',
            'exec_time_limit': limit, 'exec_mem_limit': 65536, 'task_priority': 100,
        }
    group_id = rpc.run_group(json.dumps(dict(common, **{'workers_jobs': jobs, 'return_url': return_url, 'submission_id': 1, 'job_id': 'urn:oioioi:1'})))
    with Receiver.arrived:
        Receiver.arrived.wait_for(lambda: Receiver.received, timeout=300)
    receiver.shutdown()
    return {'compile': compiled, 'group_id': group_id, 'returned': Receiver.received[0] if Receiver.received else None}


def main(argv):
    if argv[0] == 'call':
        args = [json.loads(a[len('struct:'):]) if a.startswith('struct:') else a for a in argv[3:]]
        try:
            answer = getattr(proxy(argv[1]), argv[2])(*args)
        except xmlrpc.client.Fault as fault:
            answer = {'fault': {'code': fault.faultCode, 'string': fault.faultString}}
        except xmlrpc.client.ProtocolError as err:
            answer = {'protocol_error': {'code': err.errcode, 'message': err.errmsg}}
        print(json.dumps(answer))
    elif argv[0] == 'receive':
        server = start_receiver(int(argv[2]) if len(argv) > 2 else 0, int(argv[1]))
        print(json.dumps({'port': server.server_address[1]}), flush=True)
        seen = 0
        while True:
            with Receiver.arrived:
                Receiver.arrived.wait_for(lambda: len(Receiver.received) > seen)
                for env in Receiver.received[seen:]:
                    print(json.dumps(env), flush=True)
                seen = len(Receiver.received)
    elif argv[0] == 'judge':
        print(json.dumps(judge(argv[1], argv[2], argv[3])))
    else:
        sys.exit('unknown command %s' % argv[0])


if __name__ == '__main__':
    main(sys.argv[1:])
