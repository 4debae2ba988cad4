#!/usr/bin/env python3
"""A seeded generator of LUBM-shaped data, in the proportions of the LUBM
specification (UBA 1.7): per university 15-25 departments; per department
7-10 full, 10-14 associate and 8-11 assistant professors and 5-7 lecturers,
8-14 undergraduates and 3-4 graduate students per faculty member, 10-20
research groups; each faculty member teaches 1-2 courses and 1-2 graduate
courses and writes publications (full 15-20, associate 10-18, assistant
5-10, lecturer 0-5); undergraduates take 2-4 courses, graduates 1-3
graduate courses; a fifth of undergraduates and every graduate student have
an advisor; a fifth to a quarter of graduate students are teaching
assistants, a quarter to a third research assistants; the department's head
is a full professor; degrees come from any of 1000 universities.

    python3 benches/lubm_gen.py UNIVERSITIES OUT.nt.gz [--seed 0]

It is not the UBA generator (whose output for one university ships in
knowledge/lubm/lubm1.nt.gz): the shapes and proportions are the same, the
individual choices are not.
"""

import argparse
import gzip
import random

UB = "http://swat.cse.lehigh.edu/onto/univ-bench.owl#"
TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def generate(universities, seed, out):
    rnd = random.Random(seed)
    count = 0

    def t(s, p, o, literal=False):
        nonlocal count
        obj = '"' + o + '"' if literal else "<" + o + ">"
        out.write(f"<{s}> <{p if p.startswith('http') else UB + p}> {obj} .\n")
        count += 1

    def typ(s, c):
        t(s, TYPE, UB + c)

    def person(x, name):
        t(x, "name", name, True)
        t(x, "emailAddress", f"{name}@example.edu", True)
        t(x, "telephone", f"xxx-xxx-{rnd.randrange(10000):04d}", True)

    for u in range(universities):
        univ = f"http://www.University{u}.edu"
        typ(univ, "University")
        for d in range(rnd.randint(15, 25)):
            dept = f"http://www.Department{d}.University{u}.edu"
            typ(dept, "Department")
            t(dept, "name", f"Department{d}", True)
            t(dept, "subOrganizationOf", univ)
            for g in range(rnd.randint(10, 20)):
                group = f"{dept}/ResearchGroup{g}"
                typ(group, "ResearchGroup")
                t(group, "subOrganizationOf", dept)
            faculty = []
            for kind, lo, hi, pubs in [
                ("FullProfessor", 7, 10, (15, 20)),
                ("AssociateProfessor", 10, 14, (10, 18)),
                ("AssistantProfessor", 8, 11, (5, 10)),
                ("Lecturer", 5, 7, (0, 5)),
            ]:
                for i in range(rnd.randint(lo, hi)):
                    f = f"{dept}/{kind}{i}"
                    typ(f, kind)
                    person(f, f"{kind}{i}")
                    t(f, "worksFor", dept)
                    for degree in ["undergraduateDegreeFrom", "mastersDegreeFrom", "doctoralDegreeFrom"]:
                        other = f"http://www.University{rnd.randrange(1000)}.edu"
                        typ(other, "University")
                        t(f, degree, other)
                    if kind != "Lecturer":
                        t(f, "researchInterest", f"Research{rnd.randrange(30)}", True)
                    for p in range(rnd.randint(*pubs)):
                        pub = f"{f}/Publication{p}"
                        typ(pub, "Publication")
                        t(pub, "name", f"Publication{p}", True)
                        t(pub, "publicationAuthor", f)
                    faculty.append((f, kind))
            t(faculty[0][0], "headOf", dept)
            courses, grad_courses = [], []
            for f, kind in faculty:
                for _ in range(rnd.randint(1, 2)):
                    c = f"{dept}/Course{len(courses)}"
                    typ(c, "Course")
                    t(c, "name", f"Course{len(courses)}", True)
                    t(f, "teacherOf", c)
                    courses.append(c)
                for _ in range(rnd.randint(1, 2)):
                    c = f"{dept}/GraduateCourse{len(grad_courses)}"
                    typ(c, "GraduateCourse")
                    t(c, "name", f"GraduateCourse{len(grad_courses)}", True)
                    t(f, "teacherOf", c)
                    grad_courses.append(c)
            professors = [f for f, kind in faculty if kind != "Lecturer"]
            n = len(faculty)
            for s in range(n * rnd.randint(8, 14)):
                x = f"{dept}/UndergraduateStudent{s}"
                typ(x, "UndergraduateStudent")
                person(x, f"UndergraduateStudent{s}")
                t(x, "memberOf", dept)
                for c in rnd.sample(courses, min(len(courses), rnd.randint(2, 4))):
                    t(x, "takesCourse", c)
                if rnd.random() < 0.2:
                    t(x, "advisor", rnd.choice(professors))
            for s in range(n * rnd.randint(3, 4)):
                x = f"{dept}/GraduateStudent{s}"
                typ(x, "GraduateStudent")
                person(x, f"GraduateStudent{s}")
                t(x, "memberOf", dept)
                other = f"http://www.University{rnd.randrange(1000)}.edu"
                typ(other, "University")
                t(x, "undergraduateDegreeFrom", other)
                for c in rnd.sample(grad_courses, min(len(grad_courses), rnd.randint(1, 3))):
                    t(x, "takesCourse", c)
                t(x, "advisor", rnd.choice(professors))
                r = rnd.random()
                if r < 0.22:
                    typ(x, "TeachingAssistant")
                    t(x, "teachingAssistantOf", rnd.choice(courses))
                elif r < 0.22 + 0.29:
                    typ(x, "ResearchAssistant")
    return count


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("universities", type=int)
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    opener = gzip.open if args.out.endswith(".gz") else open
    with opener(args.out, "wt") as out:
        n = generate(args.universities, args.seed, out)
    print(f"{n} triples", flush=True)


if __name__ == "__main__":
    main()
