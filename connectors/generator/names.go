package generator

import (
	"math/rand/v2"
	"strings"
	"unicode/utf8"
)

// Name parts. Fixed lists rather than a faker library: the output must not
// change when a dependency updates its word lists.
var (
	zhCities = []string{"上海", "北京", "深圳", "广州", "杭州", "苏州", "南京", "成都", "武汉",
		"天津", "宁波", "青岛", "厦门", "重庆", "西安", "无锡", "东莞", "佛山"}
	zhCores = []string{"华东", "宏达", "恒信", "鑫源", "瑞丰", "金桥", "中联", "东方", "新纪元",
		"永盛", "博远", "天成", "华信", "联创", "汇通", "嘉禾", "润泽", "长江", "星辰", "盛世",
		"德隆", "正泰", "安捷", "立信"}
	zhTrades = []string{"贸易", "科技", "电子", "机械", "实业", "物流", "化工", "建材",
		"医疗器械", "电气", "精密制造", "供应链管理"}
	enHeads = []string{"Acme", "Pacific Rim", "Northstar", "Blue Harbor", "Silverline",
		"Evergreen", "Summit", "Golden Gate", "Redwood", "Lakeside", "Orion", "Atlas",
		"Meridian", "Crescent", "Harbor Point", "Keystone"}
	enTrades = []string{"Trading", "Electronics", "Components", "Industrial Supply",
		"Logistics", "Technologies", "Machinery", "Materials"}
	enSuffixes = []string{"Co., Ltd.", "Co., Ltd.", "Inc.", "Ltd.", "Pte. Ltd.", "LLC"}
	deHeads    = []string{"Müller", "Schneider", "Fischer", "Weber", "Meyer", "Wagner",
		"Becker", "Schulz", "Hoffmann", "Koch", "Schäfer", "Günther"}
	deTrades = []string{"Industrietechnik", "Antriebstechnik", "Maschinenbau",
		"Präzisionsteile", "Elektronik", "Hydraulik", "Werkzeugbau", "Kunststofftechnik"}

	surnames   = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "高", "罗", "欧阳", "司马"}
	givenNames = []string{"芳", "强", "伟", "敏", "静", "丽", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛",
		"明", "超", "秀英", "建华", "晓东", "海燕", "志强", "丽娜", "文博", "子涵", "思远", "雨桐", "俊杰", "欣怡"}

	// zhLookalike maps a character to one a clerk or an OCR pass confuses it
	// with (same sound or shape), for payer names that almost match.
	zhLookalike = map[rune]rune{'华': '化', '东': '栋', '达': '大', '信': '新', '源': '元',
		'丰': '峰', '桥': '乔', '联': '连', '方': '芳', '盛': '胜', '博': '搏', '远': '园',
		'成': '诚', '通': '同', '禾': '和', '泽': '则', '江': '疆', '辰': '晨', '世': '市',
		'德': '得', '隆': '龙', '泰': '太', '安': '按', '捷': '杰', '立': '力', '鑫': '金',
		'瑞': '锐', '恒': '横', '宏': '红', '金': '今', '中': '忠', '永': '咏', '新': '心',
		'纪': '记', '天': '添', '汇': '会', '嘉': '佳', '润': '闰', '长': '常', '星': '兴',
		'正': '政', '创': '闯', '元': '园'}

	zhSuffixes = []string{"集团有限公司", "股份有限公司", "有限公司"}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// zhCompany returns a name like 上海华东贸易有限公司.
func zhCompany(r *rand.Rand) string {
	suffix := "有限公司"
	switch x := r.IntN(20); {
	case x < 3:
		suffix = "股份有限公司"
	case x < 4:
		suffix = "集团有限公司"
	}
	return pick(r, zhCities) + pick(r, zhCores) + pick(r, zhTrades) + suffix
}

// enCompany returns an English or German legal name.
func enCompany(r *rand.Rand) string {
	if r.IntN(3) == 0 {
		return pick(r, deHeads) + " " + pick(r, deTrades) + " GmbH"
	}
	return pick(r, enHeads) + " " + pick(r, enTrades) + " " + pick(r, enSuffixes)
}

func personName(r *rand.Rand) string { return pick(r, surnames) + pick(r, givenNames) }

// lookalike returns a name a bank might show for the party instead of its
// registered name: punctuation changed, legal suffix missing, or a typo. It
// never returns name itself.
func lookalike(r *rand.Rand, name string) string {
	zh := utf8.RuneCountInString(name) != len(name) && !strings.ContainsAny(name, " ")
	for range 8 {
		var v string
		if zh {
			v = zhVariant(r, name)
		} else {
			v = enVariant(r, name)
		}
		if v != name && v != "" {
			return v
		}
	}
	return name + " " // a trailing blank is still a different string to a naive matcher
}

func zhVariant(r *rand.Rand, name string) string {
	base, suffix := name, ""
	for _, s := range zhSuffixes {
		if strings.HasSuffix(name, s) {
			base, suffix = strings.TrimSuffix(name, s), s
			break
		}
	}
	switch r.IntN(3) {
	case 0: // legal suffix dropped, as on many counter deposits
		return base
	case 1: // city moved into brackets: 华东贸易（上海）有限公司
		for _, c := range zhCities {
			if strings.HasPrefix(base, c) {
				return strings.TrimPrefix(base, c) + "（" + c + "）" + suffix
			}
		}
		return base
	default: // one character mistyped
		rs := []rune(name)
		var idx []int
		for i, c := range rs {
			if _, ok := zhLookalike[c]; ok {
				idx = append(idx, i)
			}
		}
		if len(idx) == 0 {
			return base
		}
		i := pick(r, idx)
		rs[i] = zhLookalike[rs[i]]
		return string(rs)
	}
}

func enVariant(r *rand.Rand, name string) string {
	switch r.IntN(4) {
	case 0: // banks often upper-case and strip punctuation
		s := strings.NewReplacer(".", "", ",", "").Replace(name)
		if r.IntN(2) == 0 {
			s = strings.ToUpper(s)
		}
		return s
	case 1:
		for _, s := range []string{" Co., Ltd.", " Pte. Ltd.", " Inc.", " Ltd.", " LLC", " GmbH"} {
			if strings.HasSuffix(name, s) {
				return strings.TrimSuffix(name, s)
			}
		}
		return name + " Ltd"
	case 2: // transliterated umlauts, as SWIFT's character set forces
		s := strings.NewReplacer("ü", "ue", "ä", "ae", "ö", "oe", "Ü", "Ue").Replace(name)
		if s != name {
			return s
		}
		fallthrough
	default: // two neighbouring letters swapped inside the first word
		b := []byte(name)
		end := strings.IndexByte(name, ' ')
		if end < 3 {
			return name + "."
		}
		i := 1 + r.IntN(end-2)
		if b[i] >= 0x80 || b[i+1] >= 0x80 || b[i] == b[i+1] {
			return name[:i] + name[i+1:]
		}
		b[i], b[i+1] = b[i+1], b[i]
		return string(b)
	}
}
